// HTML the server writes: every value escaped for text and attributes alike.
export const esc = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
