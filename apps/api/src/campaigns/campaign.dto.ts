import { CAMPAIGN_MEMBER_STATUSES, CAMPAIGN_TYPES, CampaignMemberStatus, CampaignType } from '@crm/domain';
import { DateField, EnumField, IdField, MoneyField, NameField } from '../common/fields';
import { CommandDto } from '../leads/lead.dto';

export class LaunchCampaignDto extends CommandDto {
  @NameField('required') name: string;
  @EnumField('required', CAMPAIGN_TYPES) type: CampaignType;
  @DateField('required', 'The first day of the campaign (YYYY-MM-DD)') startDate: string;
  @DateField('optional', 'The last day of the campaign (YYYY-MM-DD), not before startDate') endDate?: string;
  @MoneyField('optional', 'What the campaign costs: the campaign-influence report divides it by the leads it brought (costPerLead)') budget?: number;
}

/** Exactly one of leadId and contactId. */
export class AddCampaignMemberDto extends CommandDto {
  @IdField('optional', 'The lead (it must exist and be neither Converted nor Merged); or contactId') leadId?: string;
  @IdField('optional', 'The contact (it must exist); or leadId') contactId?: string;
  @EnumField('required', CAMPAIGN_MEMBER_STATUSES, 'Sent, or Responded (a Sent member may respond later; a response is never taken back)') status: CampaignMemberStatus;
}
