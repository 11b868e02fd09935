import { Body, Controller, Get, HttpCode, Param, Post, Query, Res } from '@nestjs/common';
import { CommandBus, QueryBus } from '@nestjs/cqrs';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { CommandDocs, ReadDocs } from '../common/api-docs';
import { Command, CommandContext } from '../common/command-context';
import { commandResponse } from '../common/command-response';
import { withoutNulls } from '../common/fields';
import { newRecordId, RecordIdPipe } from '../common/record-id';
import { ReadModels } from '../read-side/read-models';
import { toPageRequest } from '../records/list-query.dto';
import { RecordController } from '../records/record-reads.controller';
import { CompleteTaskDto, OpenTaskDto, TaskListQueryDto } from './working-leads.dto';
import { TASK } from './working-leads.aggregates';

const TaskId = new RecordIdPipe('Task');

/** Today's date in UTC, YYYY-MM-DD: a task due before it and still open is overdue. */
const todayUtc = () => new Date().toISOString().slice(0, 10);

@ApiTags('tasks')
@Controller('tasks')
export class TasksController extends RecordController(TASK) {
  constructor(
    commandBus: CommandBus,
    queryBus: QueryBus,
    private readonly readModels: ReadModels,
  ) {
    super(commandBus, queryBus);
  }

  @Get()
  @ApiOperation({
    summary: 'Tasks, soonest due first, filtered by owner, status, record; overdue=true: open and due before today (UTC)',
  })
  @ReadDocs('{ items, nextCursor }: nextCursor is null on the last page')
  async listTasks(@Query() query: TaskListQueryDto) {
    const { overdue, relatedTo, ...rest } = query;
    const { filter, limit, cursor } = toPageRequest(rest as TaskListQueryDto);
    if (relatedTo !== undefined) filter._relatedId = relatedTo;
    if (overdue === 'true' && filter.status === 'Completed') return { items: [], nextCursor: null };
    if (overdue === 'true') filter.status = 'Open';
    const page = await this.readModels.find(TASK.readModel, { filter, limit, cursor });
    if (overdue !== 'true') return { items: page.items, nextCursor: page.nextCursor ?? null };
    // Soonest due first: the overdue tasks are the head of the open ones, up to the first due today or later.
    const today = todayUtc();
    const items = page.items.filter((task) => (task.dueDate as string) < today);
    return { items, nextCursor: items.length < page.items.length ? null : (page.nextCursor ?? null) };
  }

  @Post()
  @ApiOperation({ summary: 'Open a follow-up task on a lead, contact, account or opportunity, with a due date and an owner' })
  @CommandDocs(true)
  async open(@Body() body: OpenTaskDto, @Command() context: CommandContext, @Res({ passthrough: true }) reply: FastifyReply) {
    const { occurredAt, relatedTo, ...details } = withoutNulls(body);
    const taskId = newRecordId(context, 'task');
    const command = { type: 'OpenTask', taskId, relatedTo: { type: relatedTo.type, id: relatedTo.id }, details, related: { exists: false } } as const;
    const outcome = await this.create(taskId, occurredAt, context, command);
    void reply.header('Location', `/tasks/${taskId}`);
    return commandResponse(reply, outcome);
  }

  @Post(':id/complete')
  @HttpCode(200)
  @ApiOperation({ summary: 'Complete an open task, with an optional outcome; completing is final (a completed task refuses commands: 409)' })
  @CommandDocs()
  async complete(@Param('id', TaskId) id: string, @Body() body: CompleteTaskDto, @Command() context: CommandContext, @Res({ passthrough: true }) reply: FastifyReply) {
    return commandResponse(reply, await this.send(id, body.occurredAt, context, { type: 'CompleteTask', taskId: id, outcome: body.outcome }));
  }
}
