import { spawn } from "node:child_process";
import { connect, type Socket } from "node:net";

/**
 * A loopback port where new TCP connections time out instead of being refused, the way a firewall that drops
 * packets (Azure's block of outbound port 25) looks to a client. A child process listens with a backlog of one
 * and never accepts; once its queue is full, Linux drops further SYNs. Stop it with `stop()`.
 */
export async function startDroppingPort(): Promise<{ port: number; stop: () => Promise<void> }> {
  // The child blocks its only thread (bounded at 60 s) so that nothing accepts the queued connections.
  const child = spawn(
    process.execPath,
    [
      "-e",
      `const s = require("node:net").createServer();
       s.listen({ port: 0, host: "127.0.0.1", backlog: 1 }, () => {
         process.stdout.write(s.address().port + "\\n");
         Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 60000);
         process.exit(0);
       });`,
    ],
    { stdio: ["ignore", "pipe", "inherit"] },
  );
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout.once("data", (chunk: Buffer) => resolve(Number(chunk.toString().trim())));
    child.once("error", reject);
  });
  const fillers: Socket[] = [];
  const stop = async () => {
    for (const socket of fillers) socket.destroy();
    if (child.exitCode === null) {
      const exited = new Promise((resolve) => child.once("exit", resolve));
      child.kill();
      await exited;
    }
  };
  // Fill the accept queue until a connection no longer completes (a few at most).
  for (let i = 0; i < 8; i++) {
    const socket = connect({ host: "127.0.0.1", port });
    const connected = await new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), 300);
      socket.once("connect", () => {
        clearTimeout(timer);
        resolve(true);
      });
      socket.once("error", () => {
        clearTimeout(timer);
        resolve(false);
      });
    });
    fillers.push(socket);
    if (!connected) return { port, stop };
  }
  await stop();
  throw new Error("the loopback port kept accepting connections; cannot imitate a dropping firewall here");
}
