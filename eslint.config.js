// @ts-check
// Lint finds likely bugs; Prettier owns layout (`npm run format`), so no stylistic rule is enabled here.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

// Node globals for the few plain JavaScript files (bin/, bench/*.mjs, this file); TypeScript files get them from tsc.
const nodeGlobals = Object.fromEntries(
  ['process', 'console', 'setTimeout', 'setInterval', 'clearTimeout', 'clearInterval', 'URL'].map((g) => [
    g,
    'readonly',
  ]),
);

export default tseslint.config(
  { ignores: ['node_modules/', 'test/fixtures/', 'bench/results.json', 'test/browser/screenshots/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      // Control characters in patterns are the point: terminal-safe output and batch validation strip them.
      'no-control-regex': 'off',
      // A leading underscore marks a parameter kept for its position, or a property dropped by destructuring.
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none', ignoreRestSiblings: true },
      ],
    },
  },
  {
    // Type-aware rules for the mistakes tsc does not catch: a promise nobody awaits or that lands where a
    // callback's return is ignored, awaiting a non-promise, throwing a non-Error.
    files: ['**/*.ts'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/await-thenable': 'error',
      '@typescript-eslint/only-throw-error': 'error',
    },
  },
  {
    // Tests and benchmarks read JSON from HTTP responses and poke at it; the assertion is the check.
    files: ['test/**/*.ts', 'bench/**/*.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
  { files: ['**/*.js', '**/*.mjs'], languageOptions: { globals: nodeGlobals } },
);
