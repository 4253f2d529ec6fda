import type { Socket } from "node:net";
import type { Http2Bindings, HttpBindings } from "@hono/node-server";

/**
 * How long a connection closed after a refused upload stays half-open (our side done) before it
 * is torn down: closing a socket with unread data resets the connection, and a reset can destroy
 * the response before the client has read it (RFC 9112 §9.6).
 */
const LINGER_MS = 500;

type Fetch = (request: Request, env: HttpBindings) => Response | Promise<Response>;

/**
 * The app's fetch on Node, with the rule for which connections carry no further request: they end
 * after the response, said with `Connection: close`. That is a connection whose request body was
 * not read to its end (an upload refused before it arrived whole): @hono/node-server would answer
 * `keep-alive` on it, give up draining the body after 500 ms and destroy the connection with the
 * next request on it. And, once `stopReusing()` was called (shutdown), every connection.
 */
export function connectionRules(fetch: Fetch) {
  let reuse = true;
  return {
    fetch: async (request: Request, bindings: HttpBindings | Http2Bindings) => {
      // serve() here speaks HTTP/1.1 only.
      const env = bindings as HttpBindings;
      const response = await fetch(request, env);
      const { incoming, outgoing } = env;
      const bodyUnread = !incoming.complete || incoming.readableLength > 0;
      if (bodyUnread || !reuse) outgoing.shouldKeepAlive = false;
      if (bodyUnread) closeInStages(incoming.socket);
      return response;
    },
    stopReusing() {
      reuse = false;
    },
  };
}

/**
 * Node ends a `Connection: close` response with socket.destroySoon(): a destroy as soon as the
 * response is written. Here the FIN goes out at once and the destroy LINGER_MS later.
 */
function closeInStages(socket: Socket) {
  socket.destroySoon = () => {
    if (socket.writable) socket.end();
    setTimeout(() => socket.destroy(), LINGER_MS).unref();
  };
}
