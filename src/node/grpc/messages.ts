// Moved to src/wire/messages.ts (the protocol layer shared by node, client and CLI); kept so existing imports hold.
export * from '../../wire/messages.ts';
