/**
 * The resolved configuration's types. They are derived from the one configuration schema
 * (schema.ts), where each setting's type, default, names and parser are defined together.
 */
export type {
  BackoffPolicy,
  BatchFormat,
  FailurePolicy,
  Format,
  InitialOffset,
  KeyType,
  NullKeys,
  Ordering,
  PartialSettings,
  SaslMechanism,
  SettingKey,
  Settings,
} from './schema.js';
export { SECRET_SETTINGS } from './schema.js';
