/**
 * The part of hoodiecrow-imap (CommonJS, untyped) the sandbox uses, typed here once.
 * hoodiecrow serves ONE account per server instance, keeps everything in memory, and notifies
 * every session that has a mailbox selected (IDLE included) when `appendMessage` adds to it.
 */
import { createRequire } from 'node:module';
import type { Server as NetServer } from 'node:net';

const require = createRequire(import.meta.url);

/** A message as hoodiecrow stores it; `raw` is a binary (latin1) string. */
export interface HcMessage {
  raw: string;
  uid: number;
  flags: string[];
  internaldate: string;
  /** Sandbox extension: the Gmail tab of an inbox message. */
  gmailTab?: string;
  [key: string]: unknown;
}

export interface HcMailbox {
  path: string;
  messages: HcMessage[];
  flags: string[];
  'special-use'?: string | string[];
  folders?: Record<string, HcMailbox>;
  [key: string]: unknown;
}

/** A folder in the storage tree given to the constructor. */
export interface HcFolderSpec {
  'special-use'?: string;
  flags?: string[];
  uidvalidity?: number;
  folders?: Record<string, HcFolderSpec>;
  messages?: unknown[];
}

export interface HcConnection {
  socket: { destroyed?: boolean; write(s: string): void; end(): void } | null;
  state: string;
  selectedMailbox?: HcMailbox;
  directNotifications: boolean;
  inputHandler: ((line: string) => void) | false;
  send(response: unknown, description?: string, parsed?: unknown, data?: unknown, extra?: unknown): void;
  processNotifications(data?: unknown): void;
}

export interface HcParsed {
  tag: string;
  command: string;
  attributes?: unknown[];
}

export type HcCommandHandler = (connection: HcConnection, parsed: HcParsed, data: string, callback: () => void) => void;

export interface HcServer {
  server: NetServer;
  capabilities: Record<string, (connection: HcConnection) => boolean>;
  searchHandlers: Record<string, (connection: HcConnection, message: HcMessage, index: number, ...args: string[]) => boolean>;
  messageHandlers: ((connection: unknown, message: HcMessage, mailbox: HcMailbox) => void)[];
  listen(port: number, host: string, callback: () => void): void;
  close(callback?: () => void): void;
  registerCapability(keyword: string, handler?: (connection: HcConnection) => boolean): void;
  setCommandHandler(command: string, handler: HcCommandHandler): void;
  /** The handler of a command (built-in ones are loaded on first use); false when none. */
  getCommandHandler(command: string): HcCommandHandler | false;
  getMailbox(path: string): HcMailbox | undefined;
  appendMessage(mailbox: HcMailbox | string, flags: string[], internaldate: Date | string, raw: string): { mailbox: HcMailbox; message: HcMessage };
  notify(command: unknown, mailbox: HcMailbox | string): void;
}

export type HcPlugin = string | ((server: HcServer) => void);

export interface HcOptions {
  plugins?: HcPlugin[];
  storage?: Record<string, { separator?: string; type?: string; folders?: Record<string, HcFolderSpec> } | HcFolderSpec>;
  users?: Record<string, { password: string }>;
  debug?: boolean;
}

export const createHoodiecrow = require('hoodiecrow-imap') as (options: HcOptions) => HcServer;
