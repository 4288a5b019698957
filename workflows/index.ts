// What the worker bundles. Keep it small and explicit.
export { recoveryWorkflow } from './recovery';
export { accessGrantWorkflow } from './access';
export { accountChangeWorkflow } from './account-change';
export { riskResponseWorkflow } from './risk-response';
