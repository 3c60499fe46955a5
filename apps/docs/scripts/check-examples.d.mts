/** One ```ts block of an `@example` tag, where it was found. */
export interface ApiExample {
  /** The source file (absolute). */
  file: string;
  /** The symbol the comment documents. */
  symbol: string;
  /** The code, a line per entry. */
  code: string[];
  /** Each code line's line in `file` (1-based). */
  lines: number[];
}

/** Every .ts source file of every workspace package, tests left out. */
export function sourceFiles(): string[];
/** The `@example` blocks of one file's JSDoc comments. */
export function extractExamples(file: string, text?: string): ApiExample[];
/** Writes every example out and type-checks them together; errors name the example's file and line. */
export function checkExamples(opts?: { files?: string[]; keep?: boolean }): {
  examples: ApiExample[];
  errors: string[];
};
