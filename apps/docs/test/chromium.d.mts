/** The Chromium binary the browser tests drive (CHROMIUM in the environment, or /usr/bin/chromium). */
export declare const CHROMIUM: string;
/** The flags every browser test and the browser bench launch it with. */
export declare const CHROMIUM_ARGS: readonly string[];
