/** The options and defaults, derived from the configuration schema (schema.ts); kept for the paths that import them. */
export { ANNOTATABLE, DEFAULTS, OPTIONS, optionByFlag, optionFor, type OptionSpec, type PartialSettings } from './schema.js';
