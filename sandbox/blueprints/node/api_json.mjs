// API Gateway proxy integration: the event describes the HTTP request and the handler must
// return { statusCode, headers, body } where body is a string.
const ITEMS = { 42: { id: "42", name: "widget", price: 9.5 } };

const response = (statusCode, body) => ({
  statusCode,
  headers: { "Content-Type": "application/json" },
  body: JSON.stringify(body),
});

export const handler = async (event) => {
  // REST API (v1) events carry httpMethod; HTTP API (v2) events carry requestContext.http.
  const method = event.httpMethod ?? event.requestContext.http.method;
  if (method === "GET") {
    const id = event.pathParameters?.id ?? "";
    const item = ITEMS[id];
    return item ? response(200, item) : response(404, { message: `no item ${id}` });
  }
  if (method === "POST") {
    try {
      return response(201, { created: JSON.parse(event.body || "{}") });
    } catch {
      return response(400, { message: "body must be JSON" });
    }
  }
  return response(405, { message: `${method} not allowed` });
};
