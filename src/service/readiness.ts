/**
 * Whether the dispatcher is ready: what /readyz answers and the `kafka_dispatch_consumer_connected`
 * gauge shows. The parts report what happens to them; nothing here asks them.
 */
export class Readiness {
  private joined = false;
  private crash: Error | undefined;
  private brokerFailure: Error | undefined;
  private draining = false;

  /** `connected` is set to 1 while joined, not crashed, the brokers answering and not draining, else 0. */
  constructor(private readonly connected: { set(value: number): void }) {}

  /** The member (re)joined its group; a crash before it is over. */
  joinedGroup(): void {
    this.joined = true;
    this.crash = undefined;
    this.update();
  }

  /** The consumer crashed (kafkajs restarts it and it rejoins, or the process exits). */
  crashed(error: Error): void {
    this.crash = error;
    this.update();
  }

  /** After every lag read: its failure, or undefined when the brokers answered. */
  brokersRead(failure: Error | undefined): void {
    this.brokerFailure = failure;
    this.update();
  }

  /** Stop began: not ready any more, for good. */
  startDraining(): void {
    this.draining = true;
    this.update();
  }

  get isDraining(): boolean {
    return this.draining;
  }

  /** Why /readyz answers 503, or undefined when ready. */
  notReadyReason(): string | undefined {
    if (this.draining) return 'draining';
    if (!this.joined) return 'not yet joined the consumer group';
    if (this.crash) return `consumer crashed (${this.crash.message}); restarting`;
    if (this.brokerFailure) return `brokers unreachable (${this.brokerFailure.message})`;
    return undefined;
  }

  isReady(): boolean {
    return this.notReadyReason() === undefined;
  }

  private update(): void {
    this.connected.set(this.joined && !this.crash && !this.brokerFailure && !this.draining ? 1 : 0);
  }
}
