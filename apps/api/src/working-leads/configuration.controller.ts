import { Body, Controller, Get, HttpCode, Put, Res } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { ASSIGNMENT_RULES_ID, AssignmentRule, FitRule, SCORED_NUMBER_FIELDS, ScoringModel, SCORING_MODEL_ID } from '@crm/domain';
import type { FastifyReply } from 'fastify';
import { CommandDocs, ReadDocs } from '../common/api-docs';
import { Command, CommandContext } from '../common/command-context';
import { commandResponse } from '../common/command-response';
import { withoutNulls } from '../common/fields';
import { FieldError, invalidInput } from '../common/problem';
import { Configuration, Configured } from './configuration';
import { sendCommand } from './send-command';
import { AssignmentRulesDto, FitRuleDto, ScoringModelDto } from './working-leads.dto';
import { ASSIGNMENT_RULES, SCORING_MODEL } from './working-leads.aggregates';

function answer<T extends object>(reply: FastifyReply, configured: Configured<T>): T & { revision: number | null; changedAt?: string } {
  if (configured.revision !== null) void reply.header('ETag', `"${configured.revision}"`);
  return { ...configured.value, revision: configured.revision, ...(configured.changedAt && { changedAt: configured.changedAt }) };
}

@ApiTags('assignment rules')
@Controller('assignment-rules')
export class AssignmentRulesController {
  constructor(
    private readonly commandBus: CommandBus,
    private readonly configuration: Configuration,
  ) {}

  @Get()
  @ApiOperation({ summary: 'The assignment rules now, with their revision (null and no rules before the first PUT)' })
  @ReadDocs('{ rules, revision, changedAt }')
  async get(@Res({ passthrough: true }) reply: FastifyReply) {
    const rules = await this.configuration.assignmentRules();
    return answer(reply, { ...rules, value: { rules: rules.value } });
  }

  @Put()
  @HttpCode(200)
  @ApiOperation({
    summary: 'Replace the assignment rules (admin)',
    description:
      'A lead captured without ownerId takes the first rule whose when fields all equal its own; the rule\'s owners take such leads in turn (round robin, decided on the write side, fair under concurrent captures). The new rules apply to later captures only; each rule set starts its turns afresh. The same rules again append nothing.',
  })
  @CommandDocs()
  async put(@Body() body: AssignmentRulesDto, @Command() context: CommandContext, @Res({ passthrough: true }) reply: FastifyReply) {
    const rules: AssignmentRule[] = body.rules.map(({ name, when, ownerIds }) => ({ name, when: withoutNulls({ ...when }), ownerIds: [...ownerIds] }));
    const seen = new Map<string, number>();
    const errors: FieldError[] = [];
    rules.forEach(({ name }, index) => {
      if (seen.has(name)) errors.push({ field: `rules.${index}.name`, message: `rule name ${name} is already used by rules.${seen.get(name)}` });
      else seen.set(name, index);
    });
    if (errors.length) throw invalidInput(errors);
    // Whatever the outcome (a failure may still have been stored), the next capture reads the rules again.
    const outcome = await sendCommand(this.commandBus, ASSIGNMENT_RULES, ASSIGNMENT_RULES_ID, body.occurredAt, context, { type: 'ChangeAssignmentRules', rules }).finally(() =>
      this.configuration.changed('assignment-rules'),
    );
    return commandResponse(reply, outcome);
  }
}

@ApiTags('scoring')
@Controller('scoring-model')
export class ScoringModelController {
  constructor(
    private readonly commandBus: CommandBus,
    private readonly configuration: Configuration,
  ) {}

  @Get()
  @ApiOperation({ summary: 'The scoring model now, with its revision (null, with no rules and no threshold, before the first PUT)' })
  @ReadDocs('{ fit, engagement, mqlThreshold, revision, changedAt }')
  async get(@Res({ passthrough: true }) reply: FastifyReply) {
    const model = await this.configuration.scoringModel();
    return answer(reply, { ...model, value: model.value ?? { fit: [], engagement: {}, mqlThreshold: null } });
  }

  @Put()
  @HttpCode(200)
  @ApiOperation({
    summary: 'Set the scoring model (admin)',
    description:
      'score = the fit points whose condition the lead\'s fields meet now + the engagement points of its LeadEngaged events. A new model re-scores every lead (the lead-scores projection applies it to all of them); mqlAt, the business time a lead\'s score first reached mqlThreshold, keeps its first value. The same model again appends nothing.',
  })
  @CommandDocs()
  async put(@Body() body: ScoringModelDto, @Command() context: CommandContext, @Res({ passthrough: true }) reply: FastifyReply) {
    const model: ScoringModel = { fit: body.fit.map((rule, index) => fitRuleOf(rule, index)), engagement: withoutNulls({ ...body.engagement }), mqlThreshold: body.mqlThreshold };
    const outcome = await sendCommand(this.commandBus, SCORING_MODEL, SCORING_MODEL_ID, body.occurredAt, context, { type: 'ChangeScoringModel', model }).finally(() =>
      this.configuration.changed('scoring-model'),
    );
    return commandResponse(reply, outcome);
  }
}

const NUMERIC_FIELDS: readonly string[] = SCORED_NUMBER_FIELDS;

/** Exactly one condition, of the field's type: numbers for the numeric fields (and only they take `min`), strings for the others. */
function fitRuleOf(rule: FitRuleDto, index: number): FitRule {
  const at = `fit.${index}`;
  const conditions = (['equals', 'in', 'min'] as const).filter((c) => rule[c] !== undefined && rule[c] !== null);
  if (conditions.length !== 1) throw invalidInput([{ field: at, message: 'a fit rule has exactly one of equals, in, min' }]);
  const numeric = NUMERIC_FIELDS.includes(rule.field);
  const expected = numeric ? 'number' : 'string';
  const { field, points } = rule;
  if (rule.min !== undefined && rule.min !== null) {
    if (!numeric) throw invalidInput([{ field: `${at}.min`, message: `min applies to ${NUMERIC_FIELDS.join(' and ')} only` }]);
    return { field, min: rule.min, points };
  }
  if (rule.equals !== undefined && rule.equals !== null) {
    if (typeof rule.equals !== expected) throw invalidInput([{ field: `${at}.equals`, message: `${field} is compared with a ${expected}` }]);
    return { field, equals: rule.equals, points };
  }
  if (!rule.in!.every((value) => typeof value === expected)) throw invalidInput([{ field: `${at}.in`, message: `${field} is compared with ${expected}s` }]);
  return { field, in: [...rule.in!], points };
}
