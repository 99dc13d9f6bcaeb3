// How large the core's WebAssembly memory has grown in this worker, for the benchmarks
// (`make bench`, `make bench-huge`) to report beside the tab's memory. A WebAssembly memory
// only ever grows, so its size now is its peak.

/** Make `self.obscuraCoreMemoryBytes()` give the size of the memory of the core instance
 * whose exports are `exports` (the latest one: after a trap a worker loads a new instance).
 * Returns `exports`. */
export function exposeCoreMemory(exports) {
  const memory = exports && exports.memory;
  self.obscuraCoreMemoryBytes = () => (memory instanceof WebAssembly.Memory ? memory.buffer.byteLength : 0);
  return exports;
}
