/** The largest request body the API reads; past it, 413 PAYLOAD_TOO_LARGE. */
export const MAX_BODY_BYTES = 64 * 1024;

/** MAX_BODY_BYTES as the messages and the document say it. */
export const MAX_BODY_TEXT = `${MAX_BODY_BYTES / 1024} KiB`;
