const utf8 = new TextDecoder("utf-8");

/**
 * A header value as text. Node's HTTP parser gives each byte as one character (Latin-1), where
 * workerd decodes the bytes as UTF-8; reading the same bytes as UTF-8 here, bytes that are not
 * UTF-8 becoming U+FFFD as they do in workerd, makes both runtimes see the same text.
 */
export const headerTextOnNode = (value: string) =>
  // biome-ignore lint/suspicious/noControlCharactersInRegex: ASCII is the same text either way
  /^[\x00-\x7f]*$/.test(value) ? value : utf8.decode(Buffer.from(value, "latin1"));
