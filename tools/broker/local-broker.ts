import { spawn, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { createServer } from 'node:net';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { EnvironmentError, type Logger } from '../../src/index.js';
import { probeKafkaPort, waitForKafka } from './wait.js';

/** The Apache Kafka release the local broker runs (checked with kafkajs 2.2.4). */
export const KAFKA_VERSION = '4.4.0';
/** log4j 2 for the broker's logging; Kafka 4.x uses slf4j-api 1.7, hence the slf4j 1.x binding. */
export const LOG4J_VERSION = '2.25.3';

export const LOCAL_BROKER_HOST = '127.0.0.1';
const READY_TIMEOUT_MS = 90_000;
const STOP_TIMEOUT_MS = 30_000;
const INSTALL_HINT =
  'install a Java 17+ runtime and Maven (e.g. `apt-get install openjdk-17-jre-headless maven`), ' +
  'or run Kafka in a container instead: `docker compose up kafka` (bootstrap localhost:9094)';

export interface LocalBrokerOptions {
  /** Where the Kafka jars are kept (shared by all ports). Default `$KAFKA_DISPATCH_CACHE` or `~/.cache/kafka-dispatch`. */
  cacheDir?: string;
  /** Per-broker files: data, pid file, log, config. Default `<cacheDir>/broker-<port>`. */
  stateDir?: string;
  /** Client (PLAINTEXT) port. Default `$KAFKA_LOCAL_PORT` or 9092. */
  port?: number;
  /** KRaft controller port. Default `$KAFKA_LOCAL_CONTROLLER_PORT` or port + 1. */
  controllerPort?: number;
  /** Default `$KAFKA_DISPATCH_KAFKA_VERSION` or {@link KAFKA_VERSION}. */
  kafkaVersion?: string;
  /** Maximum JVM heap, e.g. `384m` (the default). */
  heap?: string;
  /** Progress lines (download, start, stop). Default: silent. */
  logger?: Logger;
  /** Java and Maven executables. Default `java` and `mvn`, looked up in `env.PATH`. */
  javaCommand?: string;
  mavenCommand?: string;
  /** Environment for java/mvn (PATH lookup included). Default `process.env`. */
  env?: NodeJS.ProcessEnv;
  /** How long `start()` waits for the broker to answer. Default 90 s. */
  readyTimeoutMs?: number;
  /**
   * Also listen with SASL_PLAINTEXT on this port, with PLAIN, SCRAM-SHA-256 and SCRAM-SHA-512 for
   * these users (name → password). SCRAM credentials are written when the storage is formatted.
   */
  sasl?: { port: number; users: Record<string, string> };
  /**
   * Also listen with SSL on this port. `keystoreFile` holds the broker's PEM key (PKCS#8) and
   * certificate chain; with `truststoreFile` (PEM CAs) and `clientAuth`, clients must present a
   * certificate signed by one of those CAs.
   */
  tls?: { port: number; keystoreFile: string; truststoreFile?: string; clientAuth?: boolean };
}

export interface LocalBrokerStatus {
  running: boolean;
  pid?: number;
  brokers: string;
  logFile: string;
  dataDir: string;
  version: string;
}

export interface StartResult {
  /** Bootstrap address, e.g. `127.0.0.1:9092`. */
  brokers: string;
  /** False when a broker (ours from an earlier run, or someone else's) already answered on the port. */
  startedByUs: boolean;
}

export interface StopResult {
  /** True when a broker of ours was running and has been stopped. */
  stopped: boolean;
  pid?: number;
}

function envNumber(env: NodeJS.ProcessEnv, name: string): number | undefined {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > 65535) {
    throw new EnvironmentError('KD_BROKER_CONFIG', `${name} must be a port number (1-65535), got ${JSON.stringify(raw)}`);
  }
  return n;
}

function checkPort(name: string, port: number): number {
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new EnvironmentError('KD_BROKER_CONFIG', `${name} must be a port number (1-65535), got ${port}`);
  }
  return port;
}

/** True when nothing listens on host:port (we could bind it). */
function isPortFree(host: string, port: number): Promise<boolean> {
  return new Promise((resolvePromise) => {
    const server = createServer();
    server.once('error', () => resolvePromise(false));
    server.listen({ host, port, exclusive: true }, () => server.close(() => resolvePromise(true)));
  });
}

/** Last `lines` lines of a text file ('' when it does not exist). Reads at most the last 256 KiB. */
export function tailFile(file: string, lines: number): string {
  try {
    const size = statSync(file).size;
    const length = Math.min(size, 256 * 1024);
    const fd = openSync(file, 'r');
    try {
      const buffer = Buffer.alloc(length);
      readSync(fd, buffer, 0, length, size - length);
      const text = buffer.toString('utf8').replace(/\n$/, '');
      return text.split('\n').slice(-lines).join('\n');
    } finally {
      closeSync(fd);
    }
  } catch {
    return '';
  }
}
/** True while the process runs; an exited one not yet reaped (a zombie) counts as gone. */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
  // A zombie (exited, not yet reaped) still "exists" for kill(0).
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    if (state === 'Z' || state === 'X') return false;
  } catch {
    // no /proc (not Linux): trust kill(0)
  }
  return true;
}

/** The command line of a process, or undefined where /proc is not available. */
function commandLine(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ');
  } catch {
    return undefined;
  }
}

/**
 * A single-node Apache Kafka (KRaft, broker+controller in one JVM) started from jars that Maven
 * fetches once from Maven Central — no Docker needed, only Java 17+ and Maven.
 *
 * Files: `<cacheDir>/kafka-<version>/libs/*.jar` (shared), and per port `<stateDir>/`
 * (`data/`, `server.properties`, `log4j2.properties`, `broker.pid`, `broker.log`).
 */
export class LocalBroker {
  readonly cacheDir: string;
  readonly stateDir: string;
  readonly port: number;
  readonly controllerPort: number;
  readonly version: string;
  readonly heap: string;
  readonly host = LOCAL_BROKER_HOST;
  readonly sasl: LocalBrokerOptions['sasl'];
  readonly tls: LocalBrokerOptions['tls'];
  private readonly logger: Logger | undefined;
  private readonly javaCommand: string;
  private readonly mavenCommand: string;
  private readonly env: NodeJS.ProcessEnv;
  private readonly readyTimeoutMs: number;

  constructor(options: LocalBrokerOptions = {}) {
    this.env = options.env ?? process.env;
    this.cacheDir = resolve(options.cacheDir ?? this.env.KAFKA_DISPATCH_CACHE ?? join(homedir(), '.cache', 'kafka-dispatch'));
    this.port = checkPort('port', options.port ?? envNumber(this.env, 'KAFKA_LOCAL_PORT') ?? 9092);
    this.controllerPort = checkPort(
      'controllerPort',
      options.controllerPort ?? envNumber(this.env, 'KAFKA_LOCAL_CONTROLLER_PORT') ?? this.port + 1,
    );
    if (this.controllerPort === this.port) {
      throw new EnvironmentError('KD_BROKER_CONFIG', `the controller port must differ from the client port (${this.port})`);
    }
    this.stateDir = resolve(options.stateDir ?? join(this.cacheDir, `broker-${this.port}`));
    this.version = options.kafkaVersion ?? (this.env.KAFKA_DISPATCH_KAFKA_VERSION || KAFKA_VERSION);
    if (!/^[0-9]+\.[0-9]+\.[0-9]+([.-][A-Za-z0-9.-]+)?$/.test(this.version)) {
      throw new EnvironmentError('KD_BROKER_CONFIG', `not a Kafka version: ${JSON.stringify(this.version)}`);
    }
    this.heap = options.heap ?? '384m';
    this.sasl = options.sasl;
    this.tls = options.tls;
    this.logger = options.logger;
    this.javaCommand = options.javaCommand ?? 'java';
    this.mavenCommand = options.mavenCommand ?? 'mvn';
    this.readyTimeoutMs = options.readyTimeoutMs ?? READY_TIMEOUT_MS;
  }

  /** Bootstrap address for clients. */
  get brokers(): string {
    return `${this.host}:${this.port}`;
  }
  get installDir(): string {
    return join(this.cacheDir, `kafka-${this.version}`);
  }
  get libsDir(): string {
    return join(this.installDir, 'libs');
  }
  get dataDir(): string {
    return join(this.stateDir, 'data');
  }
  get logFile(): string {
    return join(this.stateDir, 'broker.log');
  }
  get pidFile(): string {
    return join(this.stateDir, 'broker.pid');
  }
  private get markerFile(): string {
    return join(this.installDir, '.installed');
  }
  private get serverProperties(): string {
    return join(this.stateDir, 'server.properties');
  }
  private get log4jProperties(): string {
    return join(this.stateDir, 'log4j2.properties');
  }
  private get classpath(): string {
    return `${this.libsDir}/*`;
  }

  /** True when the jars of this version have been downloaded completely. */
  isInstalled(): boolean {
    return existsSync(this.markerFile) && existsSync(this.libsDir);
  }

  /**
   * Checks that Java (17+) is there, and Maven too unless the jars are already cached, then downloads
   * the Kafka jars with Maven (first run only). Throws `EnvironmentError` `KD_JAVA_MISSING`,
   * `KD_JAVA_TOO_OLD`, `KD_MAVEN_MISSING` or `KD_KAFKA_DOWNLOAD`.
   */
  async ensureInstalled(): Promise<void> {
    this.checkJava();
    if (this.isInstalled()) return;
    this.checkMaven();
    await this.download();
  }

  private runSync(command: string, args: string[]): SpawnSyncReturns<string> {
    return spawnSync(command, args, { env: this.env, encoding: 'utf8', timeout: 60_000 });
  }

  private checkJava(): void {
    const result = this.runSync(this.javaCommand, ['-version']);
    if (result.error || result.status !== 0) {
      const why = result.error ? ((result.error as NodeJS.ErrnoException).code ?? result.error.message) : `exit code ${result.status}`;
      throw new EnvironmentError(
        'KD_JAVA_MISSING',
        `Java is needed to run a local Kafka broker, but \`${this.javaCommand} -version\` failed (${why}): ${INSTALL_HINT}`,
      );
    }
    const text = `${result.stderr}\n${result.stdout}`;
    const match = /version "(\d+)(?:\.(\d+))?/.exec(text);
    if (match) {
      let major = Number(match[1]);
      if (major === 1 && match[2] !== undefined) major = Number(match[2]); // "1.8.0_x"
      if (major < 17) {
        throw new EnvironmentError(
          'KD_JAVA_TOO_OLD',
          `Apache Kafka ${this.version} needs Java 17 or newer, but \`${this.javaCommand}\` is Java ${major}: ${INSTALL_HINT}`,
        );
      }
    }
  }

  private checkMaven(): void {
    const result = this.runSync(this.mavenCommand, ['-v']);
    if (result.error || result.status !== 0) {
      const why = result.error ? ((result.error as NodeJS.ErrnoException).code ?? result.error.message) : `exit code ${result.status}`;
      throw new EnvironmentError(
        'KD_MAVEN_MISSING',
        `Maven is needed once to download the Apache Kafka ${this.version} jars, but \`${this.mavenCommand} -v\` failed (${why}): ${INSTALL_HINT}`,
      );
    }
  }

  private pom(): string {
    const dep = (g: string, a: string, v: string) =>
      `    <dependency><groupId>${g}</groupId><artifactId>${a}</artifactId><version>${v}</version></dependency>`;
    return [
      '<?xml version="1.0" encoding="UTF-8"?>',
      '<!-- Written by kafka-dispatch: only used to let Maven fetch the Kafka broker jars. -->',
      '<project xmlns="http://maven.apache.org/POM/4.0.0">',
      '  <modelVersion>4.0.0</modelVersion>',
      '  <groupId>local.kafka-dispatch</groupId>',
      '  <artifactId>kafka-broker-jars</artifactId>',
      `  <version>${this.version}</version>`,
      '  <packaging>pom</packaging>',
      '  <dependencies>',
      dep('org.apache.kafka', 'kafka_2.13', this.version),
      dep('org.apache.kafka', 'kafka-tools', this.version),
      dep('org.apache.logging.log4j', 'log4j-slf4j-impl', LOG4J_VERSION),
      dep('org.apache.logging.log4j', 'log4j-core', LOG4J_VERSION),
      '  </dependencies>',
      '</project>',
      '',
    ].join('\n');
  }

  private async download(): Promise<void> {
    mkdirSync(this.installDir, { recursive: true });
    const started = Date.now();
    this.logger?.info(
      { version: this.version, dir: this.libsDir },
      `downloading Apache Kafka ${this.version} jars from Maven Central (first run only)`,
    );
    writeFileSync(join(this.installDir, 'pom.xml'), this.pom());
    // Download into a private directory and rename it into place, so that an interrupted download or
    // two processes downloading at once never leave a half-filled libs/ behind.
    const staging = join(this.installDir, `libs.partial-${process.pid}`);
    rmSync(staging, { recursive: true, force: true });
    const mavenLog = join(this.installDir, 'mvn.log');
    const out = openSync(mavenLog, 'w');
    let code: number | null;
    try {
      code = await new Promise<number | null>((resolvePromise, reject) => {
        const child = spawn(
          this.mavenCommand,
          [
            '-q',
            '-B',
            '-Dstyle.color=never',
            '-f',
            'pom.xml',
            'dependency:copy-dependencies',
            `-DoutputDirectory=${staging}`,
            '-DincludeScope=runtime',
          ],
          { cwd: this.installDir, env: this.env, stdio: ['ignore', out, out] },
        );
        child.once('error', reject);
        child.once('exit', (exitCode) => resolvePromise(exitCode));
      });
    } finally {
      closeSync(out);
    }
    const jars = existsSync(staging) ? readdirSync(staging).filter((f) => f.endsWith('.jar')) : [];
    if (code !== 0 || !jars.some((j) => j.startsWith('kafka_2.13-'))) {
      rmSync(staging, { recursive: true, force: true });
      throw new EnvironmentError(
        'KD_KAFKA_DOWNLOAD',
        `could not download the Apache Kafka ${this.version} jars with Maven (exit code ${code}; is Maven Central reachable?). ` +
          `Maven said (${mavenLog}):\n${tailFile(mavenLog, 30)}`,
      );
    }
    if (this.isInstalled()) {
      rmSync(staging, { recursive: true, force: true }); // someone else finished first
      return;
    }
    rmSync(this.libsDir, { recursive: true, force: true });
    renameSync(staging, this.libsDir);
    writeFileSync(this.markerFile, `${JSON.stringify({ version: this.version, jars: jars.length, at: new Date().toISOString() })}\n`);
    this.logger?.info({ jars: jars.length, ms: Date.now() - started }, `Apache Kafka ${this.version} jars ready`);
  }

  private writeConfig(): void {
    mkdirSync(this.dataDir, { recursive: true });
    const sasl = this.sasl;
    const tls = this.tls;
    const extra = [...(sasl ? [`SASL_PLAINTEXT://${this.host}:${sasl.port}`] : []), ...(tls ? [`SSL://${this.host}:${tls.port}`] : [])];
    const properties = [
      '# Written by kafka-dispatch on every start; edits are overwritten.',
      'process.roles=broker,controller',
      'node.id=1',
      `controller.quorum.voters=1@${this.host}:${this.controllerPort}`,
      `listeners=PLAINTEXT://${this.host}:${this.port},CONTROLLER://${this.host}:${this.controllerPort}${extra.map((l) => `,${l}`).join('')}`,
      `advertised.listeners=PLAINTEXT://${this.host}:${this.port}${extra.map((l) => `,${l}`).join('')}`,
      'controller.listener.names=CONTROLLER',
      `listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT${sasl ? ',SASL_PLAINTEXT:SASL_PLAINTEXT' : ''}${tls ? ',SSL:SSL' : ''}`,
      ...(tls
        ? [
            'listener.name.ssl.ssl.keystore.type=PEM',
            `listener.name.ssl.ssl.keystore.location=${tls.keystoreFile}`,
            ...(tls.truststoreFile
              ? ['listener.name.ssl.ssl.truststore.type=PEM', `listener.name.ssl.ssl.truststore.location=${tls.truststoreFile}`]
              : []),
            `listener.name.ssl.ssl.client.auth=${tls.clientAuth ? 'required' : 'none'}`,
          ]
        : []),
      ...(sasl
        ? [
            'sasl.enabled.mechanisms=PLAIN,SCRAM-SHA-256,SCRAM-SHA-512',
            `listener.name.sasl_plaintext.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required ${Object.entries(
              sasl.users,
            )
              .map(([u, p]) => `user_${u}="${p}"`)
              .join(' ')};`,
            'listener.name.sasl_plaintext.scram-sha-256.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;',
            'listener.name.sasl_plaintext.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;',
          ]
        : []),
      'inter.broker.listener.name=PLAINTEXT',
      `log.dirs=${this.dataDir}`,
      'num.partitions=1',
      'offsets.topic.replication.factor=1',
      'offsets.topic.num.partitions=5',
      'transaction.state.log.replication.factor=1',
      'transaction.state.log.min.isr=1',
      'transaction.state.log.num.partitions=5',
      'share.coordinator.state.topic.replication.factor=1',
      'share.coordinator.state.topic.min.isr=1',
      'group.initial.rebalance.delay.ms=0',
      'auto.create.topics.enable=true',
      '',
    ].join('\n');
    writeFileSync(this.serverProperties, properties);
    writeFileSync(
      this.log4jProperties,
      [
        'status = warn',
        'appender.console.type = Console',
        'appender.console.name = STDOUT',
        'appender.console.layout.type = PatternLayout',
        'appender.console.layout.pattern = [%d] %p %m (%c)%n',
        'rootLogger.level = INFO',
        'rootLogger.appenderRef.stdout.ref = STDOUT',
        'logger.kafka.name = kafka',
        'logger.kafka.level = INFO',
        'logger.apache.name = org.apache.kafka',
        'logger.apache.level = INFO',
        '',
      ].join('\n'),
    );
  }

  private javaArgs(mainClass: string, args: string[]): string[] {
    return ['-Djava.awt.headless=true', `-Dlog4j2.configurationFile=${this.log4jProperties}`, '-cp', this.classpath, mainClass, ...args];
  }

  private formatStorage(): void {
    if (existsSync(join(this.dataDir, 'meta.properties'))) return;
    const uuid = this.runSync(this.javaCommand, this.javaArgs('kafka.tools.StorageTool', ['random-uuid']));
    const clusterId = uuid.stdout?.trim().split('\n').pop()?.trim() ?? '';
    if (uuid.status !== 0 || !/^[A-Za-z0-9_-]{22}$/.test(clusterId)) {
      throw new EnvironmentError(
        'KD_BROKER_FORMAT',
        `kafka.tools.StorageTool random-uuid failed: ${uuid.stderr || uuid.stdout || uuid.error?.message}`,
      );
    }
    const scram = Object.entries(this.sasl?.users ?? {}).flatMap(([name, password]) =>
      ['SCRAM-SHA-256', 'SCRAM-SHA-512'].flatMap((mechanism) => ['--add-scram', `${mechanism}=[name=${name},password=${password}]`]),
    );
    const format = this.runSync(
      this.javaCommand,
      this.javaArgs('kafka.tools.StorageTool', ['format', '-t', clusterId, '-c', this.serverProperties, ...scram]),
    );
    if (format.status !== 0) {
      throw new EnvironmentError(
        'KD_BROKER_FORMAT',
        `formatting the Kafka storage in ${this.dataDir} failed: ${(format.stderr || format.stdout || format.error?.message || '').trim()}`,
      );
    }
    this.logger?.info({ dataDir: this.dataDir, clusterId }, 'formatted Kafka storage');
  }

  /** The pid of our broker when its pid file names a live Kafka process, else undefined. */
  private ourPid(): number | undefined {
    let pid: number;
    try {
      pid = Number(readFileSync(this.pidFile, 'utf8').trim());
    } catch {
      return undefined;
    }
    if (!Number.isInteger(pid) || pid <= 1 || !processAlive(pid)) return undefined;
    const cmd = commandLine(pid);
    // Guard against pid reuse: the process must be a Kafka broker using our config.
    if (cmd !== undefined && !(cmd.includes('kafka.Kafka') && cmd.includes(this.serverProperties))) return undefined;
    return pid;
  }

  status(): LocalBrokerStatus {
    const pid = this.ourPid();
    return {
      running: pid !== undefined,
      ...(pid !== undefined ? { pid } : {}),
      brokers: this.brokers,
      logFile: this.logFile,
      dataDir: this.dataDir,
      version: this.version,
    };
  }

  /**
   * Starts the broker unless one already answers: our own from an earlier run (pid file), or any
   * other Kafka on the port (then `startedByUs` is false and nothing is started). Fails with
   * `KD_PORT_IN_USE` when something that is not Kafka holds the port, and with `KD_BROKER_START`
   * (including the tail of the broker log) when the broker does not answer within 90 s.
   */
  async start(): Promise<StartResult> {
    mkdirSync(this.stateDir, { recursive: true });
    const unlock = await this.lock();
    try {
      return await this.startLocked();
    } finally {
      unlock();
    }
  }

  /**
   * An exclusive lock file in the state dir, so that two processes (parallel test workers, say)
   * starting the same broker do not both spawn one. A lock whose holder is gone is taken over.
   */
  private async lock(): Promise<() => void> {
    const file = join(this.stateDir, 'start.lock');
    const deadline = Date.now() + this.readyTimeoutMs + 60_000;
    for (;;) {
      try {
        const fd = openSync(file, 'wx');
        writeFileSync(fd, `${process.pid}\n`);
        closeSync(fd);
        return () => rmSync(file, { force: true });
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      }
      let holder: number;
      try {
        holder = Number(readFileSync(file, 'utf8').trim());
      } catch {
        continue; // released meanwhile
      }
      if (!Number.isInteger(holder) || holder <= 0 || !processAlive(holder)) {
        rmSync(file, { force: true });
        continue;
      }
      if (Date.now() > deadline) {
        throw new EnvironmentError(
          'KD_BROKER_START',
          `another process (pid ${holder}) has been starting the broker for too long (${file})`,
        );
      }
      await sleep(250);
    }
  }

  private async startLocked(): Promise<StartResult> {
    const existing = this.ourPid();
    if (existing !== undefined) {
      await waitForKafka(this.brokers, this.readyTimeoutMs).catch((error: unknown) => {
        throw this.startError(`our broker (pid ${existing}) is running but does not answer: ${(error as Error).message}`);
      });
      this.logger?.info({ pid: existing, brokers: this.brokers }, 'local Kafka broker already running');
      return { brokers: this.brokers, startedByUs: false };
    }
    rmSync(this.pidFile, { force: true });

    const probe = await probeKafkaPort(this.host, this.port);
    if (probe === 'kafka') {
      await waitForKafka(this.brokers, this.readyTimeoutMs);
      this.logger?.info(
        { brokers: this.brokers },
        `a Kafka broker not started by kafka-dispatch already answers on ${this.brokers}; using it`,
      );
      return { brokers: this.brokers, startedByUs: false };
    }
    if (probe === 'other' || !(await isPortFree(this.host, this.port))) {
      throw new EnvironmentError(
        'KD_PORT_IN_USE',
        `port ${this.port} is in use by something that is not a Kafka broker; stop it or pick another port (--port / KAFKA_LOCAL_PORT)`,
      );
    }
    if (!(await isPortFree(this.host, this.controllerPort))) {
      throw new EnvironmentError(
        'KD_PORT_IN_USE',
        `the KRaft controller port ${this.controllerPort} is in use; pick another one (KAFKA_LOCAL_CONTROLLER_PORT)`,
      );
    }

    await this.ensureInstalled();
    mkdirSync(this.stateDir, { recursive: true });
    this.writeConfig();
    this.formatStorage();

    if (existsSync(this.logFile)) renameSync(this.logFile, `${this.logFile}.1`);
    const out = openSync(this.logFile, 'a');
    let exited: { code: number | null; signal: NodeJS.Signals | null } | undefined;
    let pid: number | undefined;
    try {
      const child = spawn(
        this.javaCommand,
        [`-Xms128m`, `-Xmx${this.heap}`, '-XX:+UseG1GC', ...this.javaArgs('kafka.Kafka', [this.serverProperties])],
        { cwd: this.stateDir, env: this.env, detached: true, stdio: ['ignore', out, out] },
      );
      const spawned = await new Promise<number>((resolvePromise, reject) => {
        child.once('error', reject);
        child.once('spawn', () => resolvePromise(child.pid!));
      });
      pid = spawned;
      child.once('exit', (code, signal) => {
        exited = { code, signal };
      });
      child.unref();
    } catch (error) {
      throw this.startError(`could not run ${this.javaCommand}: ${(error as Error).message}`);
    } finally {
      closeSync(out);
    }
    writeFileSync(this.pidFile, `${pid}\n`);
    this.logger?.info({ pid, brokers: this.brokers, logFile: this.logFile }, `starting Apache Kafka ${this.version}`);

    const started = Date.now();
    const abort = new AbortController();
    const watch = (async () => {
      while (!abort.signal.aborted) {
        if (exited !== undefined) abort.abort(new Error(`the broker exited early (${exited.signal ?? `exit code ${exited.code}`})`));
        await sleep(200);
      }
    })();
    try {
      await waitForKafka(this.brokers, this.readyTimeoutMs, { signal: abort.signal });
    } catch (error) {
      const reason = abort.signal.aborted && exited !== undefined ? (abort.signal.reason as Error) : error;
      await this.killPid(pid!, 5_000).catch(() => undefined);
      rmSync(this.pidFile, { force: true });
      throw this.startError(`the local Kafka broker did not become ready: ${(reason as Error).message}`);
    } finally {
      if (!abort.signal.aborted) abort.abort();
      await watch;
    }
    this.logger?.info({ pid, brokers: this.brokers, ms: Date.now() - started }, 'local Kafka broker ready');
    return { brokers: this.brokers, startedByUs: true };
  }

  private startError(message: string): EnvironmentError {
    const tail = tailFile(this.logFile, 40);
    return new EnvironmentError(
      'KD_BROKER_START',
      `${message}${tail ? `\n--- last lines of ${this.logFile} ---\n${tail}` : `\n(no broker log at ${this.logFile})`}`,
    );
  }

  /** SIGTERM, then SIGKILL after `timeoutMs`. Resolves once the process is gone. */
  private async killPid(pid: number, timeoutMs: number): Promise<void> {
    try {
      process.kill(pid, 'SIGTERM');
    } catch {
      return;
    }
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (!processAlive(pid)) return;
      await sleep(200);
    }
    this.logger?.warn({ pid }, `the broker did not stop within ${Math.round(timeoutMs / 1000)} s; killing it`);
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      return;
    }
    for (let i = 0; i < 50 && processAlive(pid); i++) await sleep(100);
  }

  /**
   * Stops the broker named by our pid file (SIGTERM, up to 30 s, then SIGKILL) and removes the pid
   * file. Never touches a broker that kafka-dispatch did not start.
   */
  async stop(): Promise<StopResult> {
    const pid = this.ourPid();
    if (pid === undefined) {
      rmSync(this.pidFile, { force: true });
      return { stopped: false };
    }
    this.logger?.info({ pid }, 'stopping local Kafka broker');
    await this.killPid(pid, STOP_TIMEOUT_MS);
    rmSync(this.pidFile, { force: true });
    return { stopped: true, pid };
  }
}
