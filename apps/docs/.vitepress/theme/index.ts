import type { Theme } from 'vitepress';
import DefaultTheme from 'vitepress/theme';
import { defineAsyncComponent } from 'vue';

export default {
  extends: DefaultTheme,
  enhanceApp({ app }) {
    // loaded on the demo page only, and only in the browser (the page wraps it in <ClientOnly>)
    app.component(
      'TrainingDemo',
      defineAsyncComponent(() => import('./components/TrainingDemo.vue')),
    );
  },
} satisfies Theme;
