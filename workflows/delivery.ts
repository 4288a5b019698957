// Shared by both workflows: how a link that the mail server refused for good shows up.
import { ActivityFailure, ApplicationFailure } from '@temporalio/workflow';

/** The SMTP server refused a link for good (5xx): the activity has recorded it and invalidated the token. */
export const isDeliveryRefused = (err: unknown) => err instanceof ActivityFailure && err.cause instanceof ApplicationFailure && err.cause.type === 'email_rejected';
