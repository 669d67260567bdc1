// A plain Node TCP echo server for the client-side benchmarks (never patched).
import net from 'node:net';
const server = net.createServer((s) => {
  s.setNoDelay(true);
  s.on('data', (d) => s.write(d));
  s.on('error', () => {});
});
server.listen(0, '127.0.0.1', () => process.send({ port: server.address().port }));
process.on('disconnect', () => process.exit(0));
