// The custom search attributes both workflows publish and the API lists by.
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

export const TenantIdKey = defineSearchAttributeKey('TenantId', SearchAttributeType.KEYWORD);
export const AccountIdKey = defineSearchAttributeKey('AccountId', SearchAttributeType.KEYWORD);
export const RecoveryKindKey = defineSearchAttributeKey('RecoveryKind', SearchAttributeType.KEYWORD);
export const RecoveryStatusKey = defineSearchAttributeKey('RecoveryStatus', SearchAttributeType.KEYWORD);
export const RiskTierKey = defineSearchAttributeKey('RiskTier', SearchAttributeType.KEYWORD);
/** Name and type of each custom search attribute, for registering them on a server. */
export const SEARCH_ATTRIBUTES: Record<string, 'Keyword'> = {
  TenantId: 'Keyword',
  AccountId: 'Keyword',
  RecoveryKind: 'Keyword',
  RecoveryStatus: 'Keyword',
  RiskTier: 'Keyword',
};
