/**
 * The training report: one self-contained HTML page per run (inline CSS, inline SVG charts, images as data-URI
 * PNGs, no script, nothing fetched from a network) plus the same numbers as JSON.
 *
 * <p>The inputs are plain records ({@link dev.kiln.engine.report.RunFacts}, {@link dev.kiln.engine.report.EpochRow},
 * {@link dev.kiln.engine.report.ClassStats}, {@link dev.kiln.engine.report.Mistake},
 * {@link dev.kiln.engine.report.FirstLayerWeights}, gathered in a {@link dev.kiln.engine.report.Report}, and
 * {@link dev.kiln.engine.report.BenchRow} for benchmarks), so this package knows nothing about the trainer or the
 * devices; {@link dev.kiln.engine.report.ReportWriter} turns them into files.
 */
package dev.kiln.engine.report;
