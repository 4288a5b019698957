// A code from an account's enrolled authenticator, checked outside any workflow (the code never
// enters history): against each confirmed TOTP factor, and accepted once. The step it matched is
// kept, so the same code (or an older one) is refused for the rest of its window: a code seen by
// someone else (shoulder-surfed, phished in real time) is worth nothing once used.
import { matchingStep, openTotpSecret } from '../infra/totp';
import { acceptTotpStep, liveTotpFactors } from '../store/mfa-factors';
import type { AppDeps } from './deps';

export type TotpOutcome = 'accepted' | 'wrong' | 'reused' | 'no_factor';

export async function checkTotpCode({ db, config }: Pick<AppDeps, 'db' | 'config'>, accountUuid: string | null, code: string): Promise<TotpOutcome> {
  const factors = accountUuid ? await liveTotpFactors(db, accountUuid) : [];
  if (!factors.length) return 'no_factor';
  const now = Date.now();
  let outcome: TotpOutcome = 'wrong';
  for (const f of factors) {
    const step = matchingStep(openTotpSecret(config.knowledgeKey, f.secret_enc!), code, now);
    if (step === null) continue;
    if (await acceptTotpStep(db, f.id, step)) return 'accepted';
    outcome = 'reused';
  }
  return outcome;
}
