import client
import transport


def generations():
    return {"transport": transport.GENERATION, "client_sees": client.transport_generation()}
