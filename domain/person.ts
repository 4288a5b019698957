// Who a principal is: the person behind an API key. Separation of duties counts people, not keys.

/** The person of a principal. For now every principal is its own person; binding principals to people comes separately. */
export const personOf = (p: { id: string }): string => p.id;
