// Shared by every activity that mails a single-use link.
import type { Db } from '../infra/db';

/**
 * Before (re-)issuing a link: returns the token of an earlier attempt that went out, i.e. it is
 * recorded as mailed, or it has been used, which proves it arrived although the attempt died
 * before recording the send. Otherwise invalidates every earlier unsent token. The row locks
 * make this atomic with a concurrent redemption: either the owner's click wins (and that token
 * is returned) or the supersede does (and the click gets link_invalid).
 */
export async function settlePriorTokens(db: Db, issueKey: string) {
  return db.transaction().execute(async (trx) => {
    const prior = await trx
      .selectFrom('one_time_tokens')
      .select(['id', 'expires_at', 'mail_sent_at', 'used_at'])
      .where('issue_key', '=', issueKey)
      .orderBy('created_at', 'desc')
      .forUpdate()
      .execute();
    const out = prior.find((t) => t.mail_sent_at !== null || t.used_at !== null);
    if (out) return out;
    await trx
      .updateTable('one_time_tokens')
      .set({ invalidated_at: new Date(), invalidated_reason: 'superseded_before_send' })
      .where('issue_key', '=', issueKey)
      .where('invalidated_at', 'is', null)
      .where('used_at', 'is', null)
      .execute();
    return null;
  });
}
