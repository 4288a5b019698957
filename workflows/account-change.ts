// An admin change of an existing account: applied, then every address it had before and has
// after is told. The change takes effect only here, so it never happens without its notice.
import { acts } from './proxies';

export interface AccountChangeInput {
  changeId: string;
}

export async function accountChangeWorkflow(i: AccountChangeInput): Promise<{ applied: boolean; recipients: number }> {
  const { applied } = await acts.applyAccountChange({ changeId: i.changeId });
  if (!applied) return { applied, recipients: 0 };
  const { recipients } = await acts.notifyAccountChange({ changeId: i.changeId });
  return { applied, recipients };
}
