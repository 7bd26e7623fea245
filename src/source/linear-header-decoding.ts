import { createRequire, Module } from 'node:module';

/**
 * kafkajs 2.2.4 collects a record's headers with `reduce((obj, h) => ({ ...obj, [h.key]: … }), {})`,
 * which copies the object once per header: quadratic. A record with 8,000 headers (legal, well under
 * Kafka's 1 MiB) blocks the event loop for about 20 s, heartbeats stop, the member is expelled from
 * its group and the partition stalls on every redelivery: one hostile producer stops the dispatcher.
 *
 * kafkajs has no seam for it, so its record decoder module is replaced, before kafkajs first loads
 * it (on the first fetch), with the same decoder collecting headers in one pass. It also keeps
 * header names that an object inherits (`toString`, `constructor`, `__proto__`) as the record's
 * own values, where kafkajs reads `obj.toString` as a header already seen. Pinned to kafkajs 2.x:
 * test/source/linear-header-decoding.test.ts fails when the module moves.
 */

const require = createRequire(import.meta.url);
const RECORD_DECODER = 'kafkajs/src/protocol/recordBatch/record/v0/decoder.js';
/** Marks the replacement, which another copy of this module (or a re-evaluated one) finds in the cache. */
const LINEAR = Symbol.for('kafka-dispatch.linearHeaderDecoding');

interface Decoder {
  readInt8(): number;
  readVarLong(): unknown;
  readVarInt(): number;
  readVarIntBytes(): Buffer | null;
  readVarIntArray<T>(item: (decoder: Decoder) => T): T[];
}

interface BatchContext {
  firstOffset?: string;
  firstTimestamp?: string;
  magicByte?: number;
  isControlBatch?: boolean;
  timestampType?: number;
  maxTimestamp?: string;
}

type HeaderValue = Buffer | null | Array<Buffer | null>;

let state: 'installed' | 'too-late' | undefined;

/**
 * Installs the linear decoder; idempotent. `too-late` when kafkajs had already loaded its own (an
 * embedding program fetched before the dispatcher started): records still decode, in kafkajs's time.
 */
export function installLinearHeaderDecoding(): 'installed' | 'too-late' {
  if (state) return state;
  const path = require.resolve(RECORD_DECODER);
  const cached = require.cache[path];
  if (cached) return (state = (cached.exports as { [LINEAR]?: true })[LINEAR] ? 'installed' : 'too-late');
  const Long = require('kafkajs/src/utils/long.js') as { fromValue(v: unknown): { add(v: unknown): { toString(): string } } };
  const HeaderDecoder = require('kafkajs/src/protocol/recordBatch/header/v0/decoder.js') as (d: Decoder) => {
    key: string;
    value: Buffer | null;
  };
  const TimestampTypes = require('kafkajs/src/protocol/timestampTypes.js') as { LOG_APPEND_TIME: number };

  const decodeRecord = (decoder: Decoder, batchContext: BatchContext = {}) => {
    const { firstOffset, firstTimestamp, magicByte, isControlBatch = false, timestampType, maxTimestamp } = batchContext;
    const attributes = decoder.readInt8();
    const timestampDelta = decoder.readVarLong();
    const timestamp =
      timestampType === TimestampTypes.LOG_APPEND_TIME && maxTimestamp
        ? maxTimestamp
        : Long.fromValue(firstTimestamp).add(timestampDelta).toString();
    const offsetDelta = decoder.readVarInt();
    const offset = Long.fromValue(firstOffset).add(offsetDelta).toString();
    const key = decoder.readVarIntBytes();
    const value = decoder.readVarIntBytes();
    const headers: Record<string, HeaderValue> = {};
    for (const header of decoder.readVarIntArray(HeaderDecoder)) {
      if (!Object.hasOwn(headers, header.key)) {
        // Defined, not assigned: a header named __proto__ is a header, not the object's prototype.
        Object.defineProperty(headers, header.key, { value: header.value, enumerable: true, writable: true, configurable: true });
        continue;
      }
      const seen = headers[header.key]!;
      if (Array.isArray(seen)) seen.push(header.value);
      else headers[header.key] = [seen, header.value];
    }
    return { magicByte, attributes, timestamp, offset, key, value, headers, isControlRecord: isControlBatch, batchContext };
  };

  const replacement = new Module(path);
  replacement.filename = path;
  replacement.loaded = true;
  replacement.exports = Object.assign(decodeRecord, { [LINEAR]: true });
  require.cache[path] = replacement;
  return (state = 'installed');
}
