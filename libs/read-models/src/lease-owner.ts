import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';

/**
 * Who holds the projector lease. A lease owner is a unique id plus the process holding it:
 * its host (host name and kernel boot id), pid and start time. A process that finds the lease
 * held by a process of its own host that no longer exists takes it over at once, instead of
 * waiting for the lease to expire (a service restarted after a crash would otherwise serve
 * stale reads for the whole lease time).
 *
 * The pid alone is not enough: a restarted container is pid 1 again, and pids are reused. The
 * start time (field 22 of /proc/<pid>/stat, in clock ticks since boot) tells the holder from a
 * later process with its pid. Where /proc is missing (not Linux), a pid that does not exist
 * means the holder is gone, and one that exists is taken for the holder (it may have been
 * reused: the lease then expires as before).
 *
 * Processes of other hosts are never judged: their lease expires as before. A different
 * boot id also counts as another host (a reboot, or another machine with the same name).
 * The host name is what tells containers apart (each has its own by default, and keeps it
 * across restarts): two containers given the same host name (`--uts=host`, a fixed `hostname:`)
 * that share one data volume would each take the other for dead; give them names of their own.
 */
export interface LeaseHolder {
  host: string;
  pid: number;
  /** Start time of the process, '' where the system does not tell it. */
  start: string;
}

const SEPARATOR = '|';

/** A new lease owner for a projector of this process. */
export function newLeaseOwner(): string {
  return leaseOwnerName(randomUUID(), thisProcess());
}

/** A lease owner's name: `projector-<id>|<host>|<pid>|<start>`. */
export function leaseOwnerName(id: string, holder: LeaseHolder): string {
  return ['projector-' + id, holder.host, String(holder.pid), holder.start].join(SEPARATOR);
}

/** This process as a lease holder. */
export function thisProcess(): LeaseHolder {
  return { host: thisHost(), pid: process.pid, start: startTimeOf(process.pid) ?? '' };
}

/**
 * True when `owner` names a process of this host that no longer exists, so that its lease can
 * be taken over at once; false when it is alive, of another host, or not a name this module made.
 */
export function isGoneFromThisHost(owner: string): boolean {
  const parts = owner.split(SEPARATOR);
  if (parts.length !== 4) return false;
  const [, host, pidText, start] = parts;
  const pid = Number(pidText);
  if (host !== thisHost() || !Number.isSafeInteger(pid) || pid <= 0) return false;
  const current = startTimeOf(pid);
  if (current !== undefined) return start !== '' && current !== start; // alive, but is it the holder?
  if (procAvailable()) return true; // no /proc/<pid>: no such process
  try {
    process.kill(pid, 0); // signal 0 only checks that the process exists
    return false;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

let host: string | undefined;
function thisHost(): string {
  if (host === undefined) {
    let boot = '';
    try {
      boot = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
    } catch {
      // not Linux: the host name alone
    }
    host = boot ? `${hostname()}/${boot}` : hostname();
    host = host.split(SEPARATOR).join('_');
  }
  return host;
}

function procAvailable(): boolean {
  return startTimeOf(process.pid) !== undefined;
}

/** Field 22 of /proc/<pid>/stat; undefined when there is no such file (no process, or no /proc). */
function startTimeOf(pid: number): string | undefined {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // The command name (field 2) is in parentheses and may hold spaces: count fields after it.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return fields[22 - 3];
}
