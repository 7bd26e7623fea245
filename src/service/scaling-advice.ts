/**
 * What `ordered` means for a Knative sink, said where the configuration leads to it: one request
 * per partition, so Knative's autoscaler (target utilisation 0.7 of containerConcurrency) never
 * asks for more than ⌈partitions ÷ (0.7 × containerConcurrency)⌉ pods, whatever the lag.
 */
export function orderedCeiling(partitions?: number, containerConcurrency = 2): string {
  const pods = (p: number) => Math.ceil(p / (0.7 * containerConcurrency));
  const then = 'ORDERING=key (order per key) or unordered lets it scale';
  if (partitions === undefined) {
    return `ordered: at most one request in flight per partition, so a Knative sink scales to at most ⌈partitions ÷ (0.7 × containerConcurrency)⌉ pods (${pods(12)} for 12 partitions and containerConcurrency ${containerConcurrency}); ${then}`;
  }
  return `ordered: at most ${partitions} requests in flight (${partitions} partitions), so a sink with containerConcurrency ${containerConcurrency} and target utilisation 0.7 scales to at most ${pods(partitions)} pods; ${then}`;
}
