import os from "node:os";

export interface MachineInfo {
  cpuModel: string;
  cores: number;
  memoryInGiB: number;
  node: string;
  platform: string;
}

/** The machine a run happened on, noted in every report so numbers are read in context. */
export function describeMachine(): MachineInfo {
  const cpus = os.cpus();
  return {
    cpuModel: cpus[0]?.model.trim() ?? "unknown",
    cores: os.availableParallelism?.() ?? cpus.length,
    memoryInGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    platform: `${os.platform()} ${os.release()} ${os.arch()}`,
  };
}

export function machineLine(m: MachineInfo): string {
  return `${m.cores} cores (${m.cpuModel}), ${m.memoryInGiB} GiB memory, Node ${m.node}, ${m.platform}`;
}
