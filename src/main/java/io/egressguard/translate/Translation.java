package io.egressguard.translate;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.List;

/**
 * What {@link EgressTranslator#translate} produces: the desired objects, sorted by kind, namespace and name, and the
 * problems found in the declarations, sorted by source, path and message.
 *
 * @param objects the generated Istio and NetworkPolicy manifests
 * @param problems refused fields and declarations (errors) and unresolvable references (warnings)
 */
public record Translation(List<ObjectNode> objects, List<TranslationProblem> problems) {

    public Translation {
        objects = List.copyOf(objects);
        problems = List.copyOf(problems);
    }

    /** Whether some declaration was refused. */
    public boolean hasErrors() {
        return problems.stream().anyMatch(TranslationProblem::error);
    }
}
