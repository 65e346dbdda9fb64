/**
 * The workflow actions a role may take on a report in its current status. What is shown comes
 * from shared/ (`can()` and the report state machine); the API enforces the same rules.
 */
import { can, isReportLocked, type ReportStatus, type Role, reportTransition } from '@pacs/shared';
import { type FormEvent, useId, useState } from 'react';

export interface WorkflowButtonsProps {
  userRole: Role;
  status: ReportStatus;
  /** Addenda are signed by attendings only: no submit, no return. */
  addendum?: boolean;
  online: boolean;
  busy?: boolean;
  onSubmit?: () => void;
  onFinalize?: () => void;
  onReturn?: (comment: string) => void;
  onAddendum?: () => void;
  onPdf?: () => void;
}

export function availableActions(role: Role, status: ReportStatus, addendum = false) {
  const allowed = (event: 'submit' | 'return' | 'finalize') => reportTransition(status, event, role).ok;
  return {
    submit: !addendum && can(role, 'report:submit') && allowed('submit'),
    finalize: can(role, 'report:finalize') && allowed('finalize'),
    return: !addendum && can(role, 'report:return') && allowed('return'),
    addendum: !addendum && isReportLocked(status) && can(role, 'report:addendum'),
    pdf: !addendum && can(role, 'report:export'),
  };
}

export function WorkflowButtons(props: WorkflowButtonsProps) {
  const { userRole, status, addendum = false, online, busy = false } = props;
  const actions = availableActions(userRole, status, addendum);
  const [returning, setReturning] = useState(false);
  const [comment, setComment] = useState('');
  const commentId = useId();
  const disabled = busy || !online;
  const title = online ? undefined : 'Needs a connection to the server';

  const sendReturn = (event: FormEvent) => {
    event.preventDefault();
    if (!comment.trim()) return;
    props.onReturn?.(comment.trim());
    setReturning(false);
    setComment('');
  };

  return (
    <fieldset className="report-actions">
      <legend className="sr-only">Report workflow</legend>
      {actions.submit && (
        <button type="button" className="primary" disabled={disabled} title={title} onClick={props.onSubmit}>
          Submit preliminary
        </button>
      )}
      {actions.finalize && (
        <button type="button" className="primary" disabled={disabled} title={title} onClick={props.onFinalize}>
          {addendum ? 'Sign addendum' : 'Sign and finalize'}
        </button>
      )}
      {actions.return && !returning && (
        <button type="button" disabled={disabled} title={title} onClick={() => setReturning(true)}>
          Return to resident
        </button>
      )}
      {actions.addendum && (
        <button type="button" disabled={disabled} title={title} onClick={props.onAddendum}>
          Add addendum
        </button>
      )}
      {actions.pdf && (
        <button type="button" disabled={disabled} title={title} onClick={props.onPdf}>
          Download PDF
        </button>
      )}
      {returning && (
        <form className="return-form" onSubmit={sendReturn}>
          <label htmlFor={commentId}>Comment for the resident</label>
          <textarea id={commentId} value={comment} onChange={(e) => setComment(e.target.value)} rows={3} required maxLength={4000} />
          <div className="banner-actions">
            <button type="submit" className="primary" disabled={disabled || !comment.trim()}>
              Send back
            </button>
            <button type="button" onClick={() => setReturning(false)}>
              Cancel
            </button>
          </div>
        </form>
      )}
    </fieldset>
  );
}
