package dev.kiln.engine.report;

import java.util.Map;

import static dev.kiln.engine.report.Html.esc;

/**
 * The frame every report page shares: the document head with its inline style sheet, the run-facts table and the
 * footer. The style sheet is light on screen and in print (no dark backgrounds; charts never split across pages)
 * and uses only the system's own fonts.
 */
final class Page {
    static final String TRAIN_COLOUR = "#1f6fd1";
    static final String TEST_COLOUR = "#e0631a";

    /** No scripts, no fetches, no fonts from anywhere; inline styles and data: images only. */
    static final String CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'";

    // Text takes its colour from the svg element (inherited) rather than from an `svg text` rule, which would
    // override the fill attributes that give heatmap counts their contrast colour.
    private static final String CSS = """
            :root{--fg:#1b1f24;--muted:#5f6b76;--line:#dde2e7;--soft:#f5f7f9}
            *{box-sizing:border-box}
            html{-webkit-text-size-adjust:100%}
            body{margin:0;background:#fff;color:var(--fg);font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif}
            main{max-width:1200px;margin:0 auto;padding:28px 32px 48px}
            h1{font-size:26px;margin:0 0 2px}
            h2{font-size:18px;margin:36px 0 12px;padding-bottom:4px;border-bottom:1px solid var(--line)}
            .sub,.note,figcaption{color:var(--muted)}
            .note{margin:6px 0 0}
            code{font:12.5px ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}
            .cards{display:flex;flex-wrap:wrap;gap:12px;margin:18px 0 4px}
            .card{border:1px solid var(--line);border-radius:8px;padding:10px 16px;min-width:150px;background:var(--soft)}
            .card .k{font-size:11.5px;text-transform:uppercase;letter-spacing:.05em;color:var(--muted)}
            .card .v{font-size:22px;font-weight:600;font-variant-numeric:tabular-nums}
            table{border-collapse:collapse;font-variant-numeric:tabular-nums}
            th,td{padding:4px 12px 4px 0;border-bottom:1px solid var(--line);text-align:left;vertical-align:top}
            th{font-weight:600}
            .n{text-align:right;padding-left:12px}
            table.facts th{color:var(--muted);font-weight:500;width:11em}
            table.epochs,table.classes,table.bench{margin-top:8px}
            .best{font-weight:700}
            .charts{display:grid;grid-template-columns:repeat(auto-fit,minmax(440px,1fr));gap:18px 28px}
            figure{margin:0;break-inside:avoid;page-break-inside:avoid}
            svg{display:block;width:100%;height:auto;fill:var(--fg)}
            svg text{font-family:system-ui,-apple-system,"Segoe UI",Roboto,Arial,sans-serif}
            svg .ct{font-size:14px;font-weight:600}
            svg .tick{font-size:11.5px;fill:var(--muted)}
            svg .label,svg .legend{font-size:12px}
            svg .empty{font-size:13px;fill:var(--muted)}
            svg .grid{stroke:#e9edf1;stroke-width:1}
            svg .axis{stroke:#8a959f;stroke-width:1}
            svg .frame{fill:none;stroke:#8a959f;stroke-width:1}
            svg .line{fill:none;stroke-width:2.2;stroke-linejoin:round;stroke-linecap:round}
            svg .pt{stroke:#fff;stroke-width:1}
            svg .count{font-variant-numeric:tabular-nums}
            .side{display:flex;flex-wrap:wrap;gap:28px;align-items:flex-start}
            .side>figure{flex:1 1 420px;max-width:560px}
            .side>.tablewrap{flex:0 1 auto}
            .mistakes{display:grid;grid-template-columns:repeat(auto-fill,minmax(128px,1fr));gap:16px 10px;margin-top:12px}
            .mistakes figure{text-align:center}
            .mistakes img{display:block;margin:0 auto 4px;width:84px;height:84px;image-rendering:pixelated;border-radius:3px}
            .mistakes figcaption{font-size:12.5px;line-height:1.3;color:var(--fg)}
            .mistakes figcaption span{display:block;color:var(--muted);font-size:11.5px}
            .weights{display:grid;grid-template-columns:repeat(auto-fill,minmax(96px,1fr));gap:10px;margin-top:12px}
            .weights figure{text-align:center}
            .weights img{display:block;margin:0 auto;width:84px;height:84px;image-rendering:pixelated;border:1px solid var(--line)}
            .weights figcaption{font-size:11px}
            .scale{display:inline-block;width:120px;height:10px;vertical-align:middle;border:1px solid var(--line);
              background:linear-gradient(90deg,#2166ac,#92c5de,#f7f7f7,#f4a582,#b2182b)}
            footer{margin-top:40px;color:var(--muted);font-size:12px}
            @media print{
              @page{margin:14mm}
              body{font-size:11px;background:#fff}
              main{max-width:none;padding:0}
              .card{background:#fff}
              .charts{grid-template-columns:1fr 1fr}
              h2{break-after:avoid;page-break-after:avoid}
              figure,table,.cards,svg{break-inside:avoid;page-break-inside:avoid}
              .mistakes img{filter:invert(1)}
              .scale{print-color-adjust:exact;-webkit-print-color-adjust:exact}
            }
            """;

    private Page() {}

    /** Opens the document: head, style, the heading and a subtitle. */
    static void open(StringBuilder b, String title, String subtitle) {
        b.append("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n")
                .append("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n")
                // The browser itself refuses anything but this page's own styles and data-URI images.
                .append("<meta http-equiv=\"Content-Security-Policy\" content=\"").append(CSP).append("\">\n")
                .append("<title>").append(esc(title)).append("</title>\n<style>\n").append(CSS).append("</style>\n")
                .append("</head>\n<body>\n<main>\n<h1>").append(esc(title)).append("</h1>\n<p class=\"sub\">")
                .append(esc(subtitle)).append("</p>\n");
    }

    /** Closes the document with a footer naming the Kiln build. */
    static void close(StringBuilder b, RunFacts f) {
        b.append("<footer>Written by Kiln ").append(esc(f.kilnVersion())).append(" (commit ").append(esc(f.commit()))
                .append(") on ").append(esc(f.date())).append(". This page is self-contained: it loads nothing.</footer>\n")
                .append("</main>\n</body>\n</html>\n");
    }

    /** A small summary box: a label and a big value. */
    static void card(StringBuilder b, String label, String value) {
        b.append("<div class=\"card\"><div class=\"k\">").append(esc(label)).append("</div><div class=\"v\">")
                .append(esc(value)).append("</div></div>");
    }

    /** The run-facts table. */
    static void facts(StringBuilder b, RunFacts f, String extraKey, String extraValue) {
        b.append("<table class=\"facts\">\n");
        row(b, "Date", f.date());
        row(b, "Kiln", f.kilnVersion() + " (commit " + f.commit() + ")");
        row(b, "Device", f.device());
        // a benchmark spans several networks and gives 0: then there is no single count to show
        row(b, "Network", f.parameters() > 0 ? f.layers() + " (" + Html.count(f.parameters()) + " parameters)" : f.layers());
        StringBuilder opt = new StringBuilder(f.optimizer());
        String sep = ": ";
        for (Map.Entry<String, String> e : f.hyperparameters().entrySet()) {
            opt.append(sep).append(e.getKey()).append(' ').append(e.getValue());
            sep = ", ";
        }
        row(b, "Optimizer", opt.toString());
        row(b, "Seed", Long.toString(f.seed()));
        row(b, "Data", f.dataset() + ", " + f.checksum());
        if (extraKey != null) {
            row(b, extraKey, extraValue);
        }
        row(b, "Total time", Html.seconds(f.totalSeconds()));
        b.append("</table>\n");
    }

    private static void row(StringBuilder b, String key, String value) {
        b.append("<tr><th>").append(esc(key)).append("</th><td>").append(esc(value)).append("</td></tr>\n");
    }
}
