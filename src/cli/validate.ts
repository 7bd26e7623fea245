import { redactSettings } from '../config/resolve.js';
import { loadConfigOrExit } from './load-config.js';

/** `kafka-dispatch validate [--kafkasource FILE] [flags]`: check and print the resolved configuration. */
export async function validateCommand(argv: string[]): Promise<number> {
  const loaded = loadConfigOrExit('validate', argv, { json: { type: 'boolean' } });
  if ('exitCode' in loaded) return loaded.exitCode;
  const { settings, origins, warnings } = loaded.config;
  for (const warning of warnings) process.stderr.write(`warning: ${warning}\n`);
  const redacted = redactSettings(settings);
  if (loaded.extra.json) {
    process.stdout.write(`${JSON.stringify({ settings: redacted, origins }, null, 2)}\n`);
    return 0;
  }
  process.stdout.write('configuration is valid; resolved settings (source in brackets):\n');
  const width = Math.max(...Object.keys(redacted).map((k) => k.length));
  for (const [key, value] of Object.entries(redacted)) {
    const text = Array.isArray(value) ? value.join(',') : value === undefined ? '(unset)' : String(value);
    process.stdout.write(`  ${key.padEnd(width)}  ${text}  [${origins[key as keyof typeof origins] ?? 'unset'}]\n`);
  }
  return 0;
}
