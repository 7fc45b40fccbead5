// Lambda Lab's Node.js runtime interface client. Runs INSIDE the jail as
// /var/runtime/bootstrap.mjs, started as `node [flags] bootstrap.mjs RESP_FD` (through prlimit,
// which sets the rlimits: Node.js has no setrlimit) with the request pipe on stdin and the log
// pipe on stdout/stderr.
//
// It behaves like Lambda's nodejs24.x runtime: `file.export` handlers from .js (CommonJS, or ES
// module under "type": "module"), .mjs and .cjs files; async (or plain) handlers called with
// (event, context); callback-style handlers refused at INIT as Node.js 24 does; console lines as
// `timestamp\trequestId\tLEVEL\tmessage`; Lambda's error shapes ({errorType, errorMessage,
// trace}) and Runtime.* error types.
//
// Protocol (mirrors sandbox/engine/protocol.py; duplicated because nothing from the project is
// visible inside the jail): each frame is an 8-byte header (meta length, data length;
// big-endian uint32), a meta object and data bytes. Frames from the host are Python marshal
// (decoded below: the host is trusted and sends only what json.loads produces); frames to the
// host are JSON (the host never unmarshals what user code could forge).

import { once } from "node:events";
import fs from "node:fs";
import Module, { createRequire } from "node:module";
import net from "node:net";
import { pathToFileURL } from "node:url";
import { format } from "node:util";

const TASK_ROOT = "/var/task";
const SELF = "/var/runtime/bootstrap.mjs";
const SDK_PARENT = "file:///var/runtime/bootstrap.mjs";
const MAX_RESPONSE_BYTES = 6_291_556; // Lambda's synchronous response limit
const RELAY_PORT = 4566; // AWS_ENDPOINT_URL's port, on the jail's own loopback
const EXIT_UNHANDLED_REJECTION = 128;
const EXIT_UNCAUGHT_EXCEPTION = 129;
// What Lambda's Node.js 24 runtime says (Runtime.CallbackHandlerDeprecated) when the handler
// declares a third (callback) parameter.
const CALLBACK_ERROR =
  "ERROR: AWS Lambda has removed support for callback-based function handlers starting with " +
  "Node.js 24. You need to modify this function to use a supported handler signature to use " +
  "Node.js 24 or later. For more information see " +
  "https://docs.aws.amazon.com/lambda/latest/dg/nodejs-handler.html.";

// ------------------------------------------------------------------------------ frames

function readExact(fd, size) {
  const buffer = Buffer.allocUnsafe(size);
  let got = 0;
  while (got < size) {
    let n;
    try {
      n = fs.readSync(fd, buffer, got, size - got, null);
    } catch (err) {
      if (err.code === "EAGAIN" || err.code === "EINTR") continue;
      throw err;
    }
    if (n === 0) return null;
    got += n;
  }
  return buffer;
}

function readFrame(fd) {
  const header = readExact(fd, 8);
  if (header === null) return null;
  const metaLen = header.readUInt32BE(0);
  const dataLen = header.readUInt32BE(4);
  const meta = readExact(fd, metaLen);
  const data = dataLen ? readExact(fd, dataLen) : Buffer.alloc(0);
  if (meta === null || data === null) return null;
  return { meta: unmarshal(meta), data };
}

function writeAll(fd, buffer) {
  let offset = 0;
  while (offset < buffer.length) {
    try {
      offset += fs.writeSync(fd, buffer, offset, buffer.length - offset);
    } catch (err) {
      // The fd can be non-blocking if user code opened process.stdout on it.
      if (err.code !== "EAGAIN" && err.code !== "EINTR") throw err;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1);
    }
  }
}

function writeFrame(fd, meta, data = Buffer.alloc(0)) {
  const raw = Buffer.from(JSON.stringify(meta));
  const header = Buffer.allocUnsafe(8);
  header.writeUInt32BE(raw.length, 0);
  header.writeUInt32BE(data.length, 4);
  writeAll(fd, Buffer.concat([header, raw, data]));
}

// Python's marshal (version 4), for the values json.loads produces: dict, list, str, int,
// float, True, False, None, and back-references to any of them.
export function unmarshal(buffer) {
  let pos = 0;
  const refs = [];
  const int32 = () => {
    const value = buffer.readInt32LE(pos);
    pos += 4;
    return value;
  };
  const text = (length, encoding) => {
    const value = buffer.toString(encoding, pos, pos + length);
    pos += length;
    return value;
  };
  const read = () => {
    const code = buffer[pos++];
    const flag = code & 0x80;
    const type = String.fromCharCode(code & 0x7f);
    const keep = (value) => {
      if (flag) refs.push(value);
      return value;
    };
    switch (type) {
      case "N":
        return null;
      case "T":
        return true;
      case "F":
        return false;
      case "i":
        return keep(int32());
      case "l": {
        // Arbitrary precision: |n| digits of 15 bits, least significant first.
        const n = int32();
        let value = 0n;
        for (let i = 0; i < Math.abs(n); i++) {
          value |= BigInt(buffer.readUInt16LE(pos)) << BigInt(15 * i);
          pos += 2;
        }
        return keep(Number(n < 0 ? -value : value));
      }
      case "g": {
        const value = buffer.readDoubleLE(pos);
        pos += 8;
        return keep(value);
      }
      case "u":
      case "t":
        return keep(text(int32(), "utf8"));
      case "a":
      case "A":
        return keep(text(int32(), "latin1"));
      case "z":
      case "Z":
        return keep(text(buffer[pos++], "latin1"));
      case "[":
      case "(":
      case ")": {
        const length = type === ")" ? buffer[pos++] : int32();
        const list = keep([]);
        for (let i = 0; i < length; i++) list.push(read());
        return list;
      }
      case "{": {
        // JSON objects: no prototype surprises from keys such as "__proto__".
        const dict = keep({});
        for (;;) {
          if (buffer[pos] === 0x30) {
            pos++;
            return dict;
          }
          const key = read();
          Object.defineProperty(dict, key, {
            value: read(),
            enumerable: true,
            writable: true,
            configurable: true,
          });
        }
      }
      case "r":
        return refs[int32()];
      default:
        throw new Error(`unsupported marshal type ${JSON.stringify(type)} at ${pos - 1}`);
    }
  };
  return read();
}

// ------------------------------------------------------------------------------ logging

const state = { requestId: "undefined", invoking: false, invokeStarted: 0, respFd: -1, init: null };

function logLine(level, args) {
  const line = `${new Date().toISOString()}\t${state.requestId}\t${level}\t${format(...args)}\n`;
  writeAll(1, Buffer.from(line));
}

function patchConsole() {
  const levels = {
    log: "INFO",
    info: "INFO",
    warn: "WARN",
    error: "ERROR",
    debug: "DEBUG",
    trace: "TRACE",
    fatal: "FATAL",
  };
  for (const [name, level] of Object.entries(levels)) {
    console[name] =
      name === "trace"
        ? (...args) => {
            const stack = new Error().stack.split("\n").slice(2).join("\n");
            logLine(level, [`Trace: ${format(...args)}\n${stack}`]);
          }
        : (...args) => logLine(level, args);
  }
}

// ------------------------------------------------------------------------------ errors

function isError(value) {
  return value instanceof Error || (value !== null && typeof value === "object" && "stack" in value);
}

// The invocation's response body, as Lambda's runtime shapes it.
function toResponse(error) {
  try {
    if (isError(error)) {
      return {
        errorType: String(error.name),
        errorMessage: String(error.message),
        trace: String(error.stack).split("\n"),
      };
    }
    return { errorType: typeof error, errorMessage: String(error), trace: [] };
  } catch {
    return {
      errorType: "handled",
      errorMessage:
        "callback called with Error argument, but there was a problem while retrieving one or " +
        "more of its message, name, and stack",
    };
  }
}

// The error as the log line shows it: `Invoke Error \t{"errorType":...,"stack":[...]}`.
function formatted(error) {
  const body = toResponse(error);
  const shown = { errorType: body.errorType, errorMessage: body.errorMessage };
  if (body.trace) shown.stack = body.trace;
  return `\t${JSON.stringify(shown)}`;
}

function runtimeError(type, cause) {
  const message = isError(cause) ? `${cause.name}: ${cause.message}` : String(cause);
  const error = new Error(message);
  error.name = type;
  return error;
}

// ------------------------------------------------------------------------------ loading

function moduleType(file) {
  if (file.endsWith(".mjs")) return "esm";
  if (file.endsWith(".cjs")) return "cjs";
  // A .js file is an ES module when the nearest package.json up to /var/task says so.
  let dir = file.slice(0, file.lastIndexOf("/"));
  while (dir.startsWith(TASK_ROOT)) {
    try {
      const pkg = JSON.parse(fs.readFileSync(`${dir}/package.json`, "utf8"));
      return pkg.type === "module" ? "esm" : "cjs";
    } catch (err) {
      if (err.code !== "ENOENT") return "cjs";
    }
    dir = dir.slice(0, dir.lastIndexOf("/"));
  }
  return "cjs";
}

async function loadHandler(handlerString) {
  // "dir/file.export.nested": the module is everything up to the first dot after the last /.
  const slash = handlerString.lastIndexOf("/") + 1;
  const dot = handlerString.indexOf(".", slash);
  const modulePath = handlerString.slice(0, dot);
  const exportPath = handlerString.slice(dot + 1).split(".");
  const base = `${TASK_ROOT}/${modulePath}`;
  const file = [".js", ".mjs", ".cjs"].map((ext) => base + ext).find((f) => fs.existsSync(f));
  let exports;
  try {
    if (file === undefined) {
      // No file: a directory module or a package, as require() would find it.
      exports = createRequire(`${TASK_ROOT}/`)(base);
    } else if (moduleType(file) === "esm") {
      exports = await import(pathToFileURL(file).href);
    } else {
      exports = createRequire(file)(file);
    }
  } catch (err) {
    if (err instanceof SyntaxError) throw runtimeError("Runtime.UserCodeSyntaxError", err);
    if (err?.code === "MODULE_NOT_FOUND" || err?.code === "ERR_MODULE_NOT_FOUND") {
      throw runtimeError("Runtime.ImportModuleError", err);
    }
    throw err;
  }
  let handler = exports;
  for (const part of exportPath) handler = handler?.[part];
  if (handler === undefined) {
    throw runtimeError("Runtime.HandlerNotFound", `${handlerString} is undefined or not exported`);
  }
  if (typeof handler !== "function") {
    throw runtimeError("Runtime.HandlerNotFound", `${handlerString} is not a function`);
  }
  if (handler.length >= 3) {
    const error = new Error(CALLBACK_ERROR);
    error.name = "Runtime.CallbackHandlerDeprecated";
    throw error;
  }
  return handler;
}

// ES modules ignore NODE_PATH, so `import { S3Client } from "@aws-sdk/client-s3"` in a handler
// would not find the SDK Lambda ships; resolve bare names the function does not bundle itself
// from /var/runtime/node_modules, as require() does through NODE_PATH.
function findSdkFromModules() {
  if (typeof Module.registerHooks !== "function") return;
  Module.registerHooks({
    resolve(specifier, context, nextResolve) {
      try {
        return nextResolve(specifier, context);
      } catch (err) {
        const bare = !/^(?:[./]|[a-z]+:)/i.test(specifier);
        if (err?.code !== "ERR_MODULE_NOT_FOUND" || !bare) throw err;
        return nextResolve(specifier, { ...context, parentURL: SDK_PARENT });
      }
    },
  });
}

// ------------------------------------------------------------------------------ services

// The jail has no network: the AWS SDK (which honours AWS_ENDPOINT_URL, set by the host to
// http://127.0.0.1:4566) reaches the lab's services through this relay to the environment's
// Unix socket, byte for byte. Unref'd, so a listening relay never keeps the event loop alive
// (an async handler whose promise never settles must still end the invocation).
async function startRelay(path) {
  const server = net.createServer({ allowHalfOpen: true, noDelay: true }, (client) => {
    const upstream = net.createConnection({ path, allowHalfOpen: true });
    const end = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on("error", end).on("close", end);
    upstream.on("error", end).on("close", end);
    client.pipe(upstream);
    upstream.pipe(client);
  });
  server.on("error", () => {});
  server.listen(RELAY_PORT, "127.0.0.1");
  await once(server, "listening");
  server.unref();
}

// ------------------------------------------------------------------------------ invoking

function makeContext(init, meta) {
  const deadline = meta.deadline_ms;
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName: init.function_name,
    functionVersion: init.function_version,
    // Per invoke: one warm environment serves every alias and version that points to it.
    invokedFunctionArn: meta.invoked_function_arn,
    // A string on Lambda too: the runtime copies it from AWS_LAMBDA_FUNCTION_MEMORY_SIZE.
    memoryLimitInMB: String(init.memory_mb),
    awsRequestId: meta.request_id,
    logGroupName: init.log_group_name,
    logStreamName: init.log_stream_name,
    identity: undefined,
    clientContext: undefined,
    getRemainingTimeInMillis: () => Math.max(deadline - Date.now(), 0),
  };
}

function maxRssKb() {
  return process.resourceUsage().maxRSS;
}

function sendResult(requestId, ok, body, handlerMs, extra = {}) {
  writeFrame(
    state.respFd,
    {
      type: "result",
      request_id: requestId,
      ok,
      handler_ms: handlerMs,
      maxrss_kb: maxRssKb(),
      ...extra,
    },
    Buffer.from(body),
  );
}

// An error outside the handler's own promise chain: Lambda reports it as the invocation's
// error (or the INIT error), then the runtime exits and the next invocation is a cold start.
function fatal(label, error, exitCode) {
  logLine("ERROR", [label, formatted(error)]);
  const body = JSON.stringify(toResponse(error));
  if (state.invoking) {
    // "exiting": the host discards the environment instead of keeping it warm.
    const handlerMs = performance.now() - state.invokeStarted;
    sendResult(state.requestId, false, body, handlerMs, { exiting: true });
  } else if (state.init !== null) {
    writeFrame(state.respFd, { type: "init_error" }, Buffer.from(body));
  }
  process.exit(exitCode);
}

async function invoke(handler, meta, data) {
  state.requestId = meta.request_id;
  state.invoking = true;
  process.env._X_AMZN_TRACE_ID = meta.trace_id;
  const context = makeContext(state.init, meta);
  let ok = true;
  let body;
  const started = performance.now();
  state.invokeStarted = started;
  let result;
  try {
    result = handler(unmarshal(data), context);
    if (result !== null && typeof result?.then === "function") result = await result;
  } catch (err) {
    ok = false;
    logLine("ERROR", ["Invoke Error", formatted(err)]);
    body = JSON.stringify(toResponse(err));
  }
  if (ok) {
    try {
      body = JSON.stringify(result) ?? "null";
    } catch (err) {
      // A cycle, a BigInt or a throwing toJSON(): what Lambda's runtime reports for them.
      ok = false;
      const error = new Error("Unable to stringify response body");
      error.name = "Runtime.JSONStringifyError";
      logLine("ERROR", ["Invoke Error", formatted(error), format(err)]);
      body = JSON.stringify(toResponse(error));
    }
  }
  const handlerMs = performance.now() - started;
  if (ok && Buffer.byteLength(body) > MAX_RESPONSE_BYTES) {
    ok = false;
    const error = new Error(
      `Response payload size exceeded maximum allowed payload size (${MAX_RESPONSE_BYTES} bytes).`,
    );
    error.name = "Function.ResponseSizeTooLarge";
    logLine("ERROR", ["Invoke Error", formatted(error)]);
    body = JSON.stringify(toResponse(error));
  }
  state.invoking = false;
  sendResult(meta.request_id, ok, body, handlerMs);
}

// ------------------------------------------------------------------------------ main

async function main() {
  // Requests arrive on fd 0. Node.js has no dup2, and the pipes belong to the host's uid, so
  // they cannot be reopened through /proc/self/fd: instead process.stdin is an empty stream
  // (stdin is /dev/null on Lambda), so user code reading stdin cannot swallow the next event.
  // A child started with stdio "inherit" does share the pipe; it can only break its own
  // function, and whatever it writes to the response fd is untrusted input for the host too.
  const reqFd = 0;
  state.respFd = Number(process.argv[2]);
  let stdin = null;
  Object.defineProperty(process, "stdin", {
    configurable: true,
    enumerable: true,
    get() {
      stdin ??= new (createRequire(SELF)("node:stream").Readable)({
        read() {
          this.push(null);
        },
      });
      return stdin;
    },
  });

  patchConsole();
  process.on("unhandledRejection", (reason) => {
    const error = new Error(isError(reason) ? `${reason.name}: ${reason.message}` : String(reason));
    error.name = "Runtime.UnhandledPromiseRejection";
    fatal("Unhandled Promise Rejection", error, EXIT_UNHANDLED_REJECTION);
  });
  process.on("uncaughtException", (error) => {
    fatal("Uncaught Exception", error, EXIT_UNCAUGHT_EXCEPTION);
  });
  writeFrame(state.respFd, { type: "up" });

  const first = readFrame(reqFd);
  if (first === null) return;
  const init = first.meta;
  for (const [key, value] of Object.entries(init.environment ?? {})) process.env[key] = value;
  // Lambda's bootstrap sets this search path unless the function set its own.
  if (!process.env.NODE_PATH) {
    process.env.NODE_PATH =
      "/opt/nodejs/node24/node_modules:/opt/nodejs/node_modules:" +
      "/var/runtime/node_modules:/var/runtime:/var/task";
  }
  // Private, but how Node.js applies a NODE_PATH set after start-up (require reads it once).
  Module._initPaths();
  findSdkFromModules();
  process.chdir(TASK_ROOT);
  state.init = init;
  if (init.services_socket) await startRelay(init.services_socket);

  let handler;
  try {
    handler = await loadHandler(init.handler);
  } catch (err) {
    logLine("ERROR", ["Init Error", formatted(err)]);
    writeFrame(state.respFd, { type: "init_error" }, Buffer.from(JSON.stringify(toResponse(err))));
    process.exit(0);
  }
  writeFrame(state.respFd, { type: "ready" });

  // An async handler whose promise never settles while nothing else is pending lets the event
  // loop drain, and Node.js would exit: answer with the handler's (absent) result instead and
  // go on serving from a fresh loop (the old one waits forever on that promise).
  process.on("beforeExit", () => {
    if (!state.invoking) return;
    state.invoking = false;
    sendResult(state.requestId, true, "null", performance.now() - state.invokeStarted);
    serve(handler, reqFd);
  });
  await serve(handler, reqFd);
}

async function serve(handler, reqFd) {
  for (;;) {
    const frame = readFrame(reqFd);
    if (frame === null) process.exit(0);
    await invoke(handler, frame.meta, frame.data);
  }
}

main();
