export const handler = async (event, context) => {
  // Your code here. `event` is the JSON your function was invoked with.
  return { statusCode: 200, body: JSON.stringify("Hello from Lambda!") };
};
