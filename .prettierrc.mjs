// Prettier settings chosen to match the code as written: single quotes, semicolons, trailing commas, long lines (160 keeps the most lines as they are).
export default {
  printWidth: 160,
  singleQuote: true,
  trailingComma: 'all',
};
