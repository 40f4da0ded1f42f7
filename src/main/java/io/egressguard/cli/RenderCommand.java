package io.egressguard.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.fasterxml.jackson.dataformat.yaml.YAMLGenerator;
import io.egressguard.Settings;
import io.egressguard.manifest.ManifestDocument;
import io.egressguard.manifest.ManifestException;
import io.egressguard.manifest.ManifestReader;
import io.egressguard.translate.EgressTranslator;
import io.egressguard.translate.Translation;
import io.egressguard.translate.TranslationProblem;
import java.io.IOException;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code render PATH...}: translates ExternalService, VirtualGateway and AccessPolicy declarations (and enforced
 * Namespaces) into the Istio and NetworkPolicy objects that enforce them, for GitOps. Exit 0 when every declaration
 * translated, 1 when one was refused (the others are still printed), 2 on unreadable input or bad usage.
 */
@Command(name = "render", description = "Translate egress declarations into Istio and NetworkPolicy manifests.",
        mixinStandardHelpOptions = true)
public final class RenderCommand implements Callable<Integer> {

    /** Output formats. */
    enum Format { yaml, json }

    @Parameters(arity = "1..*", paramLabel = "PATH", description = "Manifest files, folders (recursive) or -.")
    List<String> paths;

    @Option(names = {"-o", "--output"}, description = "Output format: ${COMPLETION-CANDIDATES} (default: yaml).")
    Format format = Format.yaml;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        List<JsonNode> inputs = new ArrayList<>();
        try {
            for (ManifestDocument d : ManifestReader.read(paths, System.in)) {
                inputs.add(d.tree());
            }
        } catch (ManifestException e) {
            err.println("error: " + e.getMessage());
            return EgressGuardCommand.BAD_INPUT;
        }
        Translation translation = new EgressTranslator(Settings.defaults()).translate(inputs);
        for (TranslationProblem p : translation.problems()) {
            err.println((p.error() ? "error: " : "warning: ") + p.source() + ": "
                    + (p.path().isEmpty() ? "" : p.path() + ": ") + p.message());
        }
        try {
            out.print(format == Format.json ? json(translation.objects()) : yaml(translation.objects()));
        } catch (IOException e) {
            err.println("error: " + e.getMessage());
            return EgressGuardCommand.BAD_INPUT;
        }
        out.flush();
        err.flush();
        return translation.hasErrors() ? EgressGuardCommand.REFUSED : EgressGuardCommand.OK;
    }

    static String yaml(List<ObjectNode> objects) throws IOException {
        ObjectMapper yaml = new ObjectMapper(YAMLFactory.builder()
                .enable(YAMLGenerator.Feature.MINIMIZE_QUOTES)
                .disable(YAMLGenerator.Feature.SPLIT_LINES)
                .enable(YAMLGenerator.Feature.INDENT_ARRAYS_WITH_INDICATOR)
                .build());
        StringBuilder sb = new StringBuilder();
        for (ObjectNode o : objects) {
            sb.append(yaml.writeValueAsString(o));
        }
        return sb.toString();
    }

    static String json(List<ObjectNode> objects) throws IOException {
        ObjectMapper mapper = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
        ObjectNode list = mapper.createObjectNode();
        list.put("apiVersion", "v1");
        list.put("kind", "List");
        list.putArray("items").addAll(objects);
        return mapper.writeValueAsString(list) + "\n";
    }
}
