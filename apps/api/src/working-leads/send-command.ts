import type { CommandBus } from '@nestjs/cqrs';
import type { DomainEvent } from '@crm/domain';
import type { CommandContext } from '../common/command-context';
import { occurredAtOrNow } from '../common/fields';
import type { AggregateType } from '../records/aggregate-type';
import type { CommandOutcome } from '../records/command-executor';
import { ExecuteAggregateCommand } from '../records/record.messages';
import type { DistributiveOmit } from '../records/record-reads.controller';

/**
 * Sends a command to an aggregate that has no record routes (the configuration streams), the
 * way `RecordController.send` does for records: business time as sent, or now.
 */
export function sendCommand<C extends { occurredAt: string }, E extends DomainEvent, S>(
  commandBus: CommandBus,
  aggregate: AggregateType<C, E, S>,
  id: string,
  occurredAt: string | undefined,
  context: CommandContext,
  command: DistributiveOmit<C, 'occurredAt'>,
): Promise<CommandOutcome<S, E>> {
  const full = { ...command, occurredAt: occurredAtOrNow(occurredAt) } as unknown as C;
  return commandBus.execute(new ExecuteAggregateCommand(aggregate, id, full, context, occurredAt === undefined ? { catchUpBusinessTime: true } : {}));
}
