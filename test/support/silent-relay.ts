/**
 * A TCP relay to the test database that can go silent: frozen, it passes nothing either way and closes nothing, as a
 * network partition or a database host that vanished does (no RST ever comes).
 */
import { createServer, connect as tcpConnect, type AddressInfo, type Socket } from 'node:net';

export interface SilentRelay {
  /** The target's URL, through the relay. */
  readonly url: string;
  freeze(): void;
  thaw(): void;
  /** Connections whose client sent something while frozen: each one a wait its user had to sit out. */
  sentWhileFrozen(): number;
  /** Cuts every relayed connection (the server then ends their sessions) and stops accepting. */
  close(): Promise<void>;
}

export async function silentRelay(target: string): Promise<SilentRelay> {
  const to = new URL(target);
  const sockets: Socket[] = [];
  const tried = new Set<Socket>();
  let frozen = false;
  const server = createServer((inbound) => {
    const outbound = tcpConnect(Number(to.port || 5432), to.hostname);
    sockets.push(inbound, outbound);
    if (frozen) tried.add(inbound);
    for (const [from, onto] of [[inbound, outbound], [outbound, inbound]] as const) {
      from.on('data', (chunk) => {
        if (!frozen) onto.write(chunk);
        else if (from === inbound) tried.add(inbound);
      });
      from.on('error', () => onto.destroy());
      from.on('close', () => onto.destroy());
    }
  });
  await new Promise<void>((res) => server.listen(0, '127.0.0.1', res));
  const url = new URL(target);
  url.host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url: url.toString(),
    freeze: () => void (frozen = true),
    thaw: () => void (frozen = false),
    sentWhileFrozen: () => tried.size,
    close: () => {
      for (const s of sockets) s.destroy();
      return new Promise<void>((res) => server.close(() => res()));
    },
  };
}
