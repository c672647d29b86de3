/**
 * IDLE (RFC 2177) for hoodiecrow. Replaces its own plugin, whose 30-minute IDLE expiry timer is
 * not cleared when the client disconnects and keeps a process alive for half an hour after
 * the sandbox stops. Behaviour is otherwise the same: pending and new notifications (EXISTS,
 * EXPUNGE) are written to the idling session at once.
 */
import type { HcServer } from './hoodiecrow.js';

/** Bounds one IDLE command, as real servers do (RFC 2177 asks clients to re-issue within 29 min). */
export const IDLE_EXPIRY_MS = 30 * 60_000;

export function idlePlugin(server: HcServer): void {
  server.registerCapability('IDLE');
  server.setCommandHandler('IDLE', (connection, parsed, data, callback) => {
    if (connection.state === 'Not Authenticated') {
      connection.send({ tag: parsed.tag, command: 'NO', attributes: [{ type: 'TEXT', value: 'Login first' }] }, 'INVALID COMMAND', parsed, data);
      return callback();
    }
    if (parsed.attributes) {
      connection.send({ tag: parsed.tag, command: 'BAD', attributes: [{ type: 'TEXT', value: 'Unexpected arguments to IDLE' }] }, 'INVALID COMMAND', parsed, data);
      return callback();
    }
    const expiry = setTimeout(() => {
      if (connection.socket && !connection.socket.destroyed) {
        connection.send({ tag: '*', command: 'BYE', attributes: [{ type: 'TEXT', value: 'IDLE terminated' }] }, 'IDLE EXPIRED', parsed, data);
        connection.socket.end();
      }
    }, IDLE_EXPIRY_MS);
    expiry.unref();
    connection.directNotifications = true;
    connection.inputHandler = (line: string) => {
      clearTimeout(expiry);
      connection.inputHandler = false;
      connection.directNotifications = false;
      if (line.trim().toUpperCase() === 'DONE') {
        connection.send({ tag: parsed.tag, command: 'OK', attributes: [{ type: 'TEXT', value: 'IDLE terminated' }] }, 'IDLE', parsed, data);
      } else {
        connection.send({ tag: parsed.tag, command: 'BAD', attributes: [{ type: 'TEXT', value: 'Invalid Idle continuation' }] }, 'INVALID IDLE', parsed, data);
      }
    };
    if (connection.socket && !connection.socket.destroyed) connection.socket.write('+ idling\r\n');
    connection.processNotifications();
    return callback();
  });
}
