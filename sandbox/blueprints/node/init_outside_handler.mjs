// Everything at module level runs once per execution environment, in the INIT phase (reported
// as "Init Duration" on the cold start only). Warm invocations reuse it.
const initStarted = Date.now();
// Stand-in for loading a model, creating SDK clients or reading configuration:
// CPU work, so it gets faster with more memory (Lambda gives CPU in proportion to memory).
const lookup = new Map();
for (let n = 0; n < 20_000; n++) {
  let total = 0;
  for (let i = 0; i < (n % 500) * 20; i++) total += i * i;
  lookup.set(n, total);
}
const initSeconds = (Date.now() - initStarted) / 1000;
let invocations = 0;

export const handler = async () => {
  invocations += 1;
  return {
    invocations_in_this_environment: invocations,
    init_work_seconds: initSeconds,
    lookup_size: lookup.size,
  };
};
