/** How often rates are recomputed: Pulsar's stats are rates over an interval, not instantaneous. */
const SAMPLE_INTERVAL_MS = 1000;

/**
 * Message and byte rates from running counters: sampled at most once a second (when stats are read), the rate
 * being the counters' growth since the previous sample. Costs nothing on the hot path.
 */
export class RateMeter {
  private sampledAtMs = Date.now();
  private messages = 0;
  private bytes = 0;
  private messagesPerSecond = 0;
  private bytesPerSecond = 0;

  rates(
    nowMs: number,
    messages: number,
    bytes: number,
  ): { messagesPerSecond: number; bytesPerSecond: number } {
    const elapsedMs = nowMs - this.sampledAtMs;
    if (elapsedMs >= SAMPLE_INTERVAL_MS) {
      this.messagesPerSecond = ((messages - this.messages) * 1000) / elapsedMs;
      this.bytesPerSecond = ((bytes - this.bytes) * 1000) / elapsedMs;
      this.messages = messages;
      this.bytes = bytes;
      this.sampledAtMs = nowMs;
    }
    return { messagesPerSecond: this.messagesPerSecond, bytesPerSecond: this.bytesPerSecond };
  }
}
