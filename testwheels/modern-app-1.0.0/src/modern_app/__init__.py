import client
import legacy_tool
import transport


def generations():
    return {
        "modern": {"transport": transport.GENERATION, "client_sees": client.transport_generation()},
        "legacy": legacy_tool.generations(),
    }
