// Moved to src/wire/typed-contents.ts (the protocol layer shared by node, client and CLI); kept so existing imports hold.
export * from '../../wire/typed-contents.ts';
