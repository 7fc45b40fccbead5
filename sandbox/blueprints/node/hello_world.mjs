// Log the event and greet; console.log output appears in the log between START and END,
// prefixed with the time, the request id and the level.
export const handler = async (event, context) => {
  console.log("Received event:", JSON.stringify(event));
  console.log("Time left:", context.getRemainingTimeInMillis(), "ms");
  return {
    message: `Hello, ${event.key1 ?? "world"}!`,
    function: context.functionName,
    memory_limit_mb: context.memoryLimitInMB,
    request_id: context.awsRequestId,
  };
};
