import type { Duplex } from 'node:stream';
import { STATUS_CODES, maxHeaderSize } from 'node:http';
import { BadRequestError, HeadersTooLargeError, RequestTimeoutError } from '../shared/errors.js';
import type { Logger } from '../shared/logger.js';
import { controlErrorBody, toHttpProblem } from './errorMapping.js';

/**
 * What Node refuses before fastify has a request: a malformed request line or header, headers over
 * Node's limit, a request not received in full within REQUEST_TIMEOUT_MS. Fastify's default answer
 * there is `{"error":"Bad Request","message":"Client Error","statusCode":400}`, a shape no other
 * answer has, whose message says nothing; this writes the documented error shape instead, with a
 * message that says what was wrong. No route is known yet, so it is the control routes' shape (its
 * `error.message` is where OpenAI and Anthropic SDKs look too). Every answer carries `x-request-id`
 * (SPEC.md), these too: the id is a fresh one (Node hands this handler the socket, not the request,
 * so a client's own x-request-id is not at hand), the same in the header, the body and the log line,
 * so a client's report of the refusal can be found.
 */
export function clientErrorHandler(requestTimeoutMs: number, log: Logger, newRequestId: () => string) {
  return (err: NodeJS.ErrnoException, socket: Duplex): void => {
    // A reset connection has no one to answer.
    if (err.code === 'ECONNRESET' || socket.destroyed) return;
    const error = err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
      ? new RequestTimeoutError(`the request was not received in full within ${requestTimeoutMs} ms (REQUEST_TIMEOUT_MS); send it at once`)
      : err.code === 'HPE_HEADER_OVERFLOW'
        ? new HeadersTooLargeError(`the request headers are larger than the server accepts (${Math.round(maxHeaderSize / 1024)} KiB in all)`)
        : new BadRequestError(`malformed HTTP request${err.code ? ` (${err.code})` : ''}: ${err.message}`);
    const problem = toHttpProblem(error);
    const requestId = newRequestId();
    log.debug({ reqId: requestId, code: err.code, status: problem.status }, 'client error before a request');
    // As Node does: never write into a response already under way on this connection.
    const inFlight = (socket as Duplex & { _httpMessage?: { headersSent?: boolean } })._httpMessage;
    if (socket.writable && inFlight?.headersSent !== true) {
      const body = JSON.stringify(controlErrorBody(problem, requestId));
      socket.write(`HTTP/1.1 ${problem.status} ${STATUS_CODES[problem.status] ?? 'Error'}\r\nx-request-id: ${requestId}\r\nx-content-type-options: nosniff\r\nconnection: close\r\ncontent-type: application/json; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
    }
    socket.destroy();
  };
}
