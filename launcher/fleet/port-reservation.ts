// Holds the proxy's port while the fleet's children start, so a busy port is reported before any child is spawned
// (not after all of them are ready), and nobody takes the port in between. The proxy binds it itself once this
// lets go. It must not serve anything on the port.
import { createServer } from 'node:net';
import { McpcpError } from '../../lib/errors.ts';

export interface PortReservation {
  /** The reserved port (the bound one when 0 was asked for). */
  readonly port: number;
  release(): Promise<void>;
}

/** Binds host:port; throws ERR_CONFLICT (naming EADDRINUSE) when it is taken, as the proxy's own bind would. */
export function reservePort(host: string, port: number): Promise<PortReservation> {
  const server = createServer();
  return new Promise((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) => {
      const code = error.code === 'EADDRINUSE' ? 'ERR_CONFLICT' : 'ERR_INTERNAL';
      reject(
        new McpcpError(code, `cannot listen on ${host}:${port} (${error.code ?? error.message})`, {
          cause: error,
        }),
      );
    });
    server.listen({ host, port, exclusive: true }, () => {
      const bound = server.address();
      resolve({
        port: typeof bound === 'object' && bound !== null ? bound.port : port,
        release: () => new Promise<void>((done) => server.close(() => done())),
      });
    });
  });
}
