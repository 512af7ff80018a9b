import transport


def transport_generation():
    return transport.GENERATION
