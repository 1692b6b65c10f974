package dev.kiln.engine.dist;

import java.util.Map;

/**
 * Where a parallel launcher put this process, read from the environment it sets: Open MPI's {@code mpirun}
 * ({@code OMPI_COMM_WORLD_RANK}, {@code OMPI_COMM_WORLD_SIZE}, {@code OMPI_COMM_WORLD_LOCAL_RANK}), PMIx launchers
 * ({@code PMIX_RANK}), Slurm's {@code srun} ({@code SLURM_PROCID}, {@code SLURM_NTASKS}, {@code SLURM_LOCALID}) and
 * MPICH's Hydra ({@code PMI_RANK}, {@code PMI_SIZE}). MPI itself is the authority on rank and size once it is up;
 * this only decides whether to start it, so that a plain run needs no MPI library.
 *
 * @param launcher   the variable that gave it away, for messages
 * @param rank       this process's rank, or -1 when the launcher does not say it
 * @param size       the number of processes, or -1 when the launcher does not say it
 * @param localRank  the rank among the processes on this machine (picks the GPU), 0 when unknown
 * @param localSize  the number of processes on this machine (they share its cores), 1 when unknown
 */
public record Launch(String launcher, int rank, int size, int localRank, int localSize) {

    /** The launch this process's environment describes, or null when no launcher started it. */
    public static Launch detect() {
        return detect(System.getenv());
    }

    static Launch detect(Map<String, String> env) {
        if (env.containsKey("OMPI_COMM_WORLD_SIZE")) {
            return new Launch("mpirun (OMPI_COMM_WORLD_SIZE)", num(env, "OMPI_COMM_WORLD_RANK"),
                    num(env, "OMPI_COMM_WORLD_SIZE"), Math.max(0, num(env, "OMPI_COMM_WORLD_LOCAL_RANK")),
                    Math.max(1, num(env, "OMPI_COMM_WORLD_LOCAL_SIZE")));
        }
        if (env.containsKey("PMIX_RANK")) {
            return new Launch("a PMIx launcher (PMIX_RANK)", num(env, "PMIX_RANK"), sizeFrom(env),
                    Math.max(0, localFrom(env)), Math.max(1, num(env, "PMIX_LOCAL_SIZE")));
        }
        // srun sets SLURM_PROCID for every step, but a batch script's own shell has SLURM_JOB_ID without SLURM_STEP_ID
        if (env.containsKey("SLURM_PROCID") && env.containsKey("SLURM_STEP_ID")) {
            return new Launch("srun (SLURM_PROCID)", num(env, "SLURM_PROCID"), num(env, "SLURM_NTASKS"),
                    Math.max(0, num(env, "SLURM_LOCALID")), Math.max(1, num(env, "SLURM_NTASKS_PER_NODE")));
        }
        if (env.containsKey("PMI_RANK") && env.containsKey("PMI_SIZE")) {
            return new Launch("mpiexec (PMI_RANK)", num(env, "PMI_RANK"), num(env, "PMI_SIZE"),
                    Math.max(0, num(env, "MPI_LOCALRANKID")), Math.max(1, num(env, "MPI_LOCALNRANKS")));
        }
        return null;
    }

    private static int sizeFrom(Map<String, String> env) {
        int s = num(env, "PMIX_SIZE");
        return s >= 0 ? s : num(env, "SLURM_NTASKS");
    }

    private static int localFrom(Map<String, String> env) {
        int l = num(env, "PMIX_LOCAL_RANK");
        return l >= 0 ? l : num(env, "SLURM_LOCALID");
    }

    private static int num(Map<String, String> env, String name) {
        String v = env.get(name);
        if (v == null) {
            return -1;
        }
        try {
            return Integer.parseInt(v.trim());
        } catch (NumberFormatException e) {
            return -1;
        }
    }
}
